// StreamCursor: reads one Kafka partition's records as protocol-neutral
// messages, for consumers of the other protocols (AMQP stream queues,
// x-queue-type: stream). The counterpart of stream_bridge.h, which writes
// them.
//
// A record is decoded with queue/message_codec.h: records an AMQP publisher
// wrote come back whole (wharf.* headers -> properties); a Kafka producer's
// record becomes key -> routing key, value -> body, its headers -> text
// headers. A record whose headers do not decode (a Kafka producer may send a
// "wharf.priority" header that is not a number) is delivered with its body
// and key only, never dropped: the consumer asked for every record.
//
// What is read: every record of every data batch, in offset order, from the
// requested offset on. Control batches (transaction markers) yield nothing.
// Compressed batches (gzip, snappy, lz4, zstd, as any Kafka client writes
// them) are expanded, at most storage::kMaxDecompressedRecordsBytes each.
// A batch that fails its CRC, cannot be expanded or parsed is skipped with an
// error log, so one bad batch does not stop a consumer for good. Offsets
// below the log start (removed by retention) continue at the start.
//
// Memory: the cursor keeps one window of the log (window_bytes, or one batch
// when that is larger) plus the expanded form of its compressed batches.
// Returned message bodies alias that memory and keep it alive (shared,
// immutable once built), so a window lives until the last body read from it
// is released, on whatever thread.
//
// Thread rules: a cursor is used by one thread at a time, the partition's
// shard (the Log's owner). The records it returns may move to any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "broker/queue/message.h"
#include "broker/queue/message_codec.h"
#include "storage/log.h"

namespace wharf::broker {

// One record of a partition, decoded.
struct StreamRecord {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // the record's Kafka timestamp
  queue::Message message;
};

// Where a reader starts in a partition (AMQP: basic.consume's
// x-stream-offset).
struct StreamStart {
  enum class Kind : uint8_t {
    kFirst,      // the first record still stored
    kLast,       // the last record (RabbitMQ: the last chunk)
    kNext,       // only records appended from now on
    kOffset,     // `value`: an offset; below the first stored one reads from the first, past the end is kNext
    kTimestamp,  // `value`: ms since the epoch; the first record stamped at or after it (none: kNext)
  };
  Kind kind = Kind::kNext;
  int64_t value = 0;
};

class Partition;
// The first offset to read from `part` for `s`. REQUIRES: on the
// partition's shard.
int64_t start_offset(const StreamStart& s, Partition& part);

class StreamCursor {
 public:
  static constexpr size_t kDefaultWindowBytes = size_t(128) << 10;

  explicit StreamCursor(size_t window_bytes = kDefaultWindowBytes) : window_(window_bytes) {}

  // Appends to `out` up to `max` records of `log` with offsets >= `next`, in
  // order, and moves `next` past the last record returned and past any
  // skipped batch; `next` ends at log.end_offset() once everything there is
  // was read. Returns how many records were appended: fewer than `max` only
  // when the log has no more (the caller then waits for new data). Errors:
  // I/O errors of the read; the cursor is still usable afterwards.
  result<size_t> read(const storage::Log& log, int64_t& next, size_t max, std::vector<StreamRecord>& out);

  // Forgets the buffered window (tests; never needed for correctness).
  void clear();

 private:
  struct Entry {
    queue::RecordRef ref;
    std::shared_ptr<const void> owner;  // the buffer ref's spans point into
  };
  // Reads the batches from the one holding `offset` into a new window.
  status load(const storage::Log& log, int64_t offset);
  // Indexes one whole batch that sits in `owner`'s memory.
  void index_batch(std::span<const uint8_t> batch, const std::shared_ptr<const void>& owner);

  size_t window_;
  std::vector<Entry> entries_;  // sorted by offset
  int64_t from_ = 0, to_ = 0;   // the window covers offsets [from_, to_)
  bool loaded_ = false;
};

// The message of record `r` (its body aliases r.value, kept alive by
// `owner`): decode_record's result, or body and key alone when its headers
// do not decode.
queue::Message message_of_record(const queue::RecordRef& r, const std::shared_ptr<const void>& owner);

}  // namespace wharf::broker
