// AckStore: the persistent part of a durable queue's ack state, an
// append-only file <queue dir>/acks.log.
//
// What is persisted, per priority level: the settled offsets (acked,
// rejected, expired, dropped, purged, dead-lettered) as ranges, and the
// cursor (every offset below it has been delivered at least once, so it
// comes back with redelivered=true). Everything else is derived at open: the
// messages to deliver are the log offsets >= log start that are not settled;
// those below the cursor are redeliveries.
//
// File format (integers big-endian), a sequence of records:
//
//   +0  u32 crc    CRC-32C (base/crc32c.h) of bytes [+4, +9+len)
//   +4  u32 len    payload length
//   +8  u8  type   1 = settle, 2 = cursor
//   +9  payload
//     settle (len 17): u8 level, i64 from, i64 to   offsets [from, to) are settled
//     cursor (len 9):  u8 level, i64 cursor         offsets < cursor were delivered
//
// Replay applies records in order (both kinds only ever grow the state, so
// order does not matter) and stops at the first short, unknown or CRC-failing
// record: the file is truncated there with a warning (a torn tail). Records
// beyond the log's end (the log lost unsynced data in a crash while this file
// kept it) are the caller's to discard; it must then rewrite the file
// (compact) before the log reuses those offsets.
//
// Compaction writes the live state to acks.log.tmp, fdatasyncs it, renames it
// over acks.log and fsyncs the directory; a leftover .tmp is deleted at open.
//
// Durability: records are buffered in memory and written by write_pending()
// (one write(2) per call: page cache, survives kill -9); fdatasync happens
// in the queue's flush rounds (sync_file()).
//
// Thread rules: owned by the queue's shard thread. The File returned by
// sync_file() may be fdatasync'ed on the flusher thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "broker/queue/interval_set.h"
#include "storage/env.h"

namespace wharf::broker::queue {

namespace ack_format {
inline constexpr size_t kHeaderSize = 9;  // crc + len + type
inline constexpr uint8_t kTypeSettle = 1;
inline constexpr uint8_t kTypeCursor = 2;
inline constexpr uint32_t kSettleLen = 1 + 8 + 8;
inline constexpr uint32_t kCursorLen = 1 + 8;
inline constexpr uint64_t kCompactMinBytes = 1u << 20;  // never compact a smaller file
inline constexpr uint64_t kCompactRatio = 4;            // ... nor one under 4x its live size
static_assert(kHeaderSize == 4 + 4 + 1);
static_assert(kSettleLen == 17 && kCursorLen == 9);
}  // namespace ack_format

struct LevelAckState {
  int64_t cursor = 0;
  IntervalSet settled;
};
using AckState = std::map<uint8_t, LevelAckState>;  // by priority level

class AckStore {
 public:
  // Opens or creates <dir>/acks.log (dir must exist) and replays it into *state.
  static result<std::unique_ptr<AckStore>> open(storage::Env* env, const std::string& dir, AckState* state);

  // Buffer records; nothing reaches the file before write_pending().
  void settle(uint8_t level, int64_t from, int64_t to);
  void cursor(uint8_t level, int64_t cursor);
  bool has_pending() const { return !pending_settles_.empty() || !pending_cursors_.empty(); }
  // Writes every buffered record with one write(2). On failure the file is
  // cut back and the records stay buffered for the next attempt.
  status write_pending();

  // For a flush round: the file when bytes were written since the last call,
  // else null. The caller fdatasyncs it.
  std::shared_ptr<storage::File> sync_file();
  bool unsynced() const { return unsynced_; }

  // Whether the file is big enough, relative to `live_records`, to compact.
  bool should_compact(size_t live_records) const;
  // Replaces the file by exactly `state` (write_pending first is not needed:
  // pending records are dropped, `state` must include them).
  status compact(const AckState& state);

  uint64_t file_bytes() const { return file_bytes_; }

 private:
  AckStore(storage::Env* env, std::string dir);
  status replay(AckState* state);
  static void append_settle(std::string& out, uint8_t level, int64_t from, int64_t to);
  static void append_cursor(std::string& out, uint8_t level, int64_t cursor);

  storage::Env* env_;
  std::string dir_, path_;
  std::shared_ptr<storage::File> file_;
  uint64_t file_bytes_ = 0;
  bool unsynced_ = false;        // bytes written since sync_file() last returned the file
  struct Range {
    uint8_t level;
    int64_t from, to;
  };
  // Buffered settle ranges; a range adjacent to the last one on the same
  // level extends it, so in-order acks become one record per write.
  std::vector<Range> pending_settles_;
  std::map<uint8_t, int64_t> pending_cursors_;  // latest cursor per level
  std::string buf_;                             // encoding scratch
};

}  // namespace wharf::broker::queue
