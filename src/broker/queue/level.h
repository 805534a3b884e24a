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
//   - `requeued` holds the ready messages behind the cursor: those handed
//     back (nack, recover, closed session; deliveries >= 1) and those passed
//     over by a consumer's selector or a message group (deliveries == 0,
//     never delivered). Both are simply unsettled offsets below the cursor,
//     so the ack log needs no record for either: recovery turns every such
//     offset back into a requeued entry (queue.h, "Selectors and groups").
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

// A ready message behind a level's cursor.
struct Behind {
  uint32_t deliveries = 0;  // 0: passed over, never delivered
  uint32_t bytes = 0;       // body size when known (0 after a restart)
};

struct Level {
  Level(uint8_t index_, size_t window_bytes) : index(index_), cache(window_bytes), behind(window_bytes) {}

  uint8_t index;
  std::unique_ptr<storage::Log> log;
  int64_t cursor = 0;                    // offsets >= cursor were never delivered
  IntervalSet settled;
  std::map<int64_t, Behind> requeued;  // offset -> what is known of it
  ReadCache cache;   // reads at and past the cursor
  // Reads of the messages behind the cursor (`requeued`): a consumer
  // skipping along them (selectors, groups) while another reads at the
  // cursor would otherwise reload the one window at every switch. Emptied
  // when `requeued` empties.
  ReadCache behind;
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
