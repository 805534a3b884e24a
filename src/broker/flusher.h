// Flusher: group commit for one shard.
//
// Appends mark their partition (or queue: any Flushable) dirty. A flush round
// collects one FlushJob per dirty Flushable, runs every fdatasync on the flusher's own thread (so the
// shard keeps serving), then publishes the new durable offsets on the shard
// and wakes acks=all producers. Only one round is in flight; appends that
// arrive meanwhile go into the next round, so under load each fdatasync covers
// many batches from many producers and never one fsync per message.
//
// When rounds run: at once for urgent (acks=all) appends; otherwise when
// flush_bytes are unsynced or flush_interval_ms after the first unsynced append.
//
// Thread rules: dirty() and the round bookkeeping on the shard thread; only
// Log::run_flush() runs on the worker thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "broker/flushable.h"
#include "broker/partition.h"

namespace wharf::broker {

class Flusher {
 public:
  Flusher(asio::io_context& io, int64_t interval_ms, uint64_t flush_bytes);
  ~Flusher();

  void dirty(const std::shared_ptr<Flushable>& p, size_t bytes, bool urgent);
  // Flushes everything now, blocking the calling (shard) thread. For shutdown.
  void flush_all_sync();
  void stop();

 private:
  struct Item {
    std::shared_ptr<Flushable> target;
    storage::FlushJob job;
  };
  void start_round();
  void worker_loop();

  asio::io_context& io_;
  int64_t interval_ms_;
  uint64_t flush_bytes_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  bool in_flight_ = false;
  bool again_ = false;
  uint64_t dirty_bytes_ = 0;
  std::vector<std::shared_ptr<Flushable>> dirty_;

  // Worker thread hand-off (one round at a time).
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> work_;  // GUARDED_BY(mu_)
  bool has_work_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace wharf::broker
