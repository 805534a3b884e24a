#include "broker/queue/consumer.h"

namespace wharf::broker::queue {

void CreditPool::wait(const void* who, std::function<void()> wake) {
  {
    std::lock_guard lk(mu_);
    for (const auto& w : waiters_)
      if (w.first == who) return;
    waiters_.emplace_back(who, std::move(wake));
  }
  // A slot may have freed between the caller's check and the registration.
  if (has_room()) wake_all();
}

bool CreditPool::try_acquire() {
  uint32_t cur = in_use.load(std::memory_order_relaxed);
  for (;;) {
    uint32_t l = limit.load(std::memory_order_relaxed);
    if (l != 0 && cur >= l) return false;
    if (in_use.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return true;
  }
}

void CreditPool::set_limit(uint32_t l) {
  limit.store(l, std::memory_order_relaxed);
  if (has_room()) wake_all();
}

void CreditPool::release_one() {
  uint32_t cur = in_use.load(std::memory_order_relaxed);
  while (cur > 0 && !in_use.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) {
  }
  if (has_room()) wake_all();
}

void CreditPool::wake_all() {
  std::vector<std::pair<const void*, std::function<void()>>> ws;
  {
    std::lock_guard lk(mu_);
    if (waiters_.empty()) return;
    ws.swap(waiters_);
  }
  // Woken queues that are still blocked register again.
  for (auto& w : ws) w.second();
}

}  // namespace wharf::broker::queue
