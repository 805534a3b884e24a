// Flushable: anything whose files the shard's Flusher group-commits: a Kafka
// partition (one Log), a queue (one Log per priority level plus its ack
// file). One fdatasync round covers every dirty Flushable of a shard.
//
// Round protocol (all on the owner shard thread except run_flush):
//   job = f.begin_flush_round();            // owner: collect files, remember what was handed out
//   st  = storage::Log::run_flush(job);      // any thread: fdatasync the files
//   f.end_flush_round(job, st);              // owner: publish durability, wake waiters
// At most one round per Flushable is in flight (the Flusher runs one round at
// a time). end_flush_round is skipped when flush_closed() became true during
// the round; a Flushable that closes must complete its own waiters.
#pragma once

#include <memory>

#include "base/result.h"
#include "storage/log.h"

namespace wharf::broker {

class Flushable {
 public:
  virtual ~Flushable() = default;

  virtual bool flush_closed() const = 0;
  virtual storage::FlushJob begin_flush_round() = 0;
  // `st` is the outcome of syncing job.files. A failed fdatasync is fatal for
  // the data involved: implementations fail their waiters and must not claim
  // durability.
  virtual void end_flush_round(const storage::FlushJob& job, const status& st) = 0;

 private:
  friend class Flusher;
  bool in_flush_list_ = false;  // on its shard Flusher's dirty list; touched only by that Flusher
};

// Runs one whole round on the calling thread (begin, fdatasync, end). For
// shutdown and tests; blocks on fdatasync.
inline status flush_now(Flushable& f) {
  if (f.flush_closed()) return {};
  storage::FlushJob job = f.begin_flush_round();
  status st = job.empty() ? status{} : storage::Log::run_flush(job);
  f.end_flush_round(job, st);
  return st;
}

}  // namespace wharf::broker
