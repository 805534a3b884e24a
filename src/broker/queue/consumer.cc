#include "broker/queue/consumer.h"

namespace wharf::broker::queue {

void CreditPool::wait(const void* who, std::function<void()> wake) {
  for (const auto& w : waiters_)
    if (w.first == who) return;
  waiters_.emplace_back(who, std::move(wake));
}

void CreditPool::release_one() {
  if (in_use > 0) --in_use;
  if (waiters_.empty() || !has_room()) return;
  // Woken queues that are still blocked register again.
  auto ws = std::move(waiters_);
  waiters_.clear();
  for (auto& w : ws) w.second();
}

}  // namespace wharf::broker::queue
