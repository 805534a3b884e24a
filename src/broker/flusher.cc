#include "broker/flusher.h"

#include <pthread.h>

#include <algorithm>

namespace wharf::broker {

Flusher::Flusher(asio::io_context& io, int64_t interval_ms, uint64_t flush_bytes)
    : io_(io), interval_ms_(interval_ms), flush_bytes_(flush_bytes), timer_(io) {
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "flusher");
    worker_loop();
  });
}

Flusher::~Flusher() { stop(); }

void Flusher::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  timer_.cancel();
}

void Flusher::dirty(const std::shared_ptr<Flushable>& p, size_t bytes, bool urgent) {
  if (!p->in_flush_list_) {  // a flag, not a search: 10,000 partitions make a long list
    p->in_flush_list_ = true;
    dirty_.push_back(p);
  }
  dirty_bytes_ += bytes;
  if (urgent || dirty_bytes_ >= flush_bytes_) {
    start_round();
  } else if (!timer_armed_) {
    timer_armed_ = true;
    timer_.expires_after(std::chrono::milliseconds(interval_ms_));
    timer_.async_wait([this](const asio::error_code& ec) {
      timer_armed_ = false;
      if (!ec) start_round();
    });
  }
}

void Flusher::start_round() {
  if (in_flight_) { again_ = true; return; }
  if (dirty_.empty()) return;
  std::vector<Item> items;
  for (auto& p : dirty_) {
    p->in_flush_list_ = false;
    if (p->flush_closed()) continue;
    auto job = p->begin_flush_round();
    items.push_back(Item{p, std::move(job)});
  }
  dirty_.clear();
  dirty_bytes_ = 0;
  if (items.empty()) return;
  in_flight_ = true;
  {
    std::lock_guard lk(mu_);
    work_ = std::move(items);
    has_work_ = true;
  }
  cv_.notify_one();
}

void Flusher::worker_loop() {
  for (;;) {
    std::vector<Item> items;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return has_work_ || stopping_; });
      if (!has_work_ && stopping_) return;
      items = std::move(work_);
      work_.clear();
      has_work_ = false;
    }
    std::vector<const storage::FlushJob*> jobs;
    jobs.reserve(items.size());
    for (auto& it : items) jobs.push_back(&it.job);
    // One status for the round: with many files it is one filesystem sync.
    status result = storage::Log::run_flush_all(jobs);
    asio::post(io_, [this, items = std::move(items), result = std::move(result)]() mutable {
      for (auto& it : items) {
        auto& p = it.target;
        if (p->flush_closed()) continue;
        p->end_flush_round(it.job, result);
      }
      in_flight_ = false;
      if (again_) { again_ = false; start_round(); }
    });
  }
}

void Flusher::flush_all_sync() {
  for (auto& p : dirty_) {
    p->in_flush_list_ = false;
    (void)flush_now(*p);
  }
  dirty_.clear();
  dirty_bytes_ = 0;
}

}  // namespace wharf::broker
