// OffsetFlusher: a background thread that fdatasyncs dirty offset files every
// interval, so a committed offset reaches stable storage within the interval
// without the shard thread ever blocking on fdatasync (group commit).
//
// Thread rules: SyncSlot::fd is written only by the shard thread and only
// while holding SyncSlot::mu; the flusher reads it under mu. `dirty` is set by
// the shard after each write and cleared by whoever syncs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wharf::broker::group {

struct SyncSlot {
  std::mutex mu;
  int fd = -1;                      // GUARDED_BY(mu) for the flusher; owned by the shard
  std::atomic<bool> dirty{false};   // written since the last fdatasync
  ~SyncSlot();                      // closes fd

  // fdatasync if dirty. Safe on any thread.
  void sync_if_dirty();
};

class OffsetFlusher {
 public:
  explicit OffsetFlusher(std::chrono::milliseconds interval);
  ~OffsetFlusher();  // stops the thread after a last flush
  OffsetFlusher(const OffsetFlusher&) = delete;
  OffsetFlusher& operator=(const OffsetFlusher&) = delete;

  void add(std::shared_ptr<SyncSlot> slot);
  void flush_now();  // syncs every dirty slot on the calling thread

 private:
  void run();

  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                             // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<SyncSlot>> slots_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace wharf::broker::group
