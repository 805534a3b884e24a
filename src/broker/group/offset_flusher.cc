#include "broker/group/offset_flusher.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace wharf::broker::group {

SyncSlot::~SyncSlot() {
  if (fd >= 0) ::close(fd);
}

void SyncSlot::sync_if_dirty() {
  if (!dirty.exchange(false)) return;
  std::lock_guard lk(mu);
  if (fd < 0) return;
  if (::fdatasync(fd) != 0) {
    dirty = true;  // try again next round
    WLOG_WARN("group", "fdatasync of offsets file failed: {}", std::strerror(errno));
  }
}

OffsetFlusher::OffsetFlusher(std::chrono::milliseconds interval)
    : interval_(interval), thread_([this] { run(); }) {}

OffsetFlusher::~OffsetFlusher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  flush_now();
}

void OffsetFlusher::add(std::shared_ptr<SyncSlot> slot) {
  std::lock_guard lk(mu_);
  slots_.push_back(std::move(slot));
}

void OffsetFlusher::flush_now() {
  std::vector<std::shared_ptr<SyncSlot>> slots;
  {
    std::lock_guard lk(mu_);
    slots = slots_;
  }
  for (auto& s : slots) s->sync_if_dirty();
}

void OffsetFlusher::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, interval_, [this] { return stop_; });
    if (stop_) break;
    lk.unlock();
    flush_now();
    lk.lock();
  }
}

}  // namespace wharf::broker::group
