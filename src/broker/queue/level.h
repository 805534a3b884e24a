// Level: one priority level of a queue (a non-priority queue has only level
// 0): its log and the state that says which of its messages are ready.
//
// Invariants (checked by the queue):
//   - settled is a subset of [log start, cursor): nothing at or past the
//     cursor is settled; offsets below the log start count as settled.
//   - every offset in [log start, cursor) is exactly one of: settled,
//     unacked (in the queue's session maps), or requeued.
//   - ready = requeued + [cursor, log end); requeued offsets are all below
//     the cursor, so the next message of a level is requeued.begin() when
//     there is one (a requeued message keeps its original place), else the
//     cursor.
//
// Thread rules: owned by the queue's shard thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "base/result.h"
#include "broker/queue/interval_set.h"
#include "broker/queue/read_cache.h"
#include "storage/log.h"

namespace wharf::broker::queue {

using ConfirmFn = std::function<void(status)>;

struct Level {
  Level(uint8_t index_, size_t window_bytes) : index(index_), cache(window_bytes) {}

  uint8_t index;
  std::unique_ptr<storage::Log> log;
  int64_t cursor = 0;                    // offsets >= cursor were never delivered
  IntervalSet settled;
  std::map<int64_t, uint32_t> requeued;  // offset -> deliveries so far
  ReadCache cache;
  // Publishes waiting for durability, by offset (appended in offset order).
  std::deque<std::pair<int64_t, ConfirmFn>> confirm_waiters;
  storage::FlushJob round;  // this level's part of the flush round in flight
  bool in_round = false;

  int64_t start() const { return log->start_offset().value; }
  int64_t end() const { return log->end_offset().value; }
  bool has_ready() const { return !requeued.empty() || cursor < end(); }
  uint64_t ready_count() const { return uint64_t(end() - cursor) + requeued.size(); }
};

}  // namespace wharf::broker::queue
