// Kafka RecordBatch v2 (magic 2): the unit we store. Batches stay batches from
// socket to disk; storage reads only their 61-byte header, never the records,
// except to answer ListOffsets by time (first_record_at_or_after below).
//
// Header layout (all integers big-endian):
//   @0  baseOffset            int64   assigned by the log on append
//   @8  batchLength           int32   bytes after this field: total = batchLength + 12
//   @12 partitionLeaderEpoch  int32
//   @16 magic                 int8    == 2
//   @17 crc                   uint32  CRC-32C of bytes [21, end)
//   @21 attributes            int16   bits 0-2 compression, 3 timestamp type,
//                                     4 transactional, 5 control
//   @23 lastOffsetDelta       int32
//   @27 baseTimestamp         int64
//   @35 maxTimestamp          int64
//   @43 producerId            int64
//   @51 producerEpoch         int16
//   @53 baseSequence          int32
//   @57 recordsCount          int32
//   @61 records...
// The CRC does not cover baseOffset/batchLength/leaderEpoch, so the log can
// patch baseOffset without recomputing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "storage/compression.h"

namespace wharf::storage {

namespace batch_layout {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kBatchLength = 8;
inline constexpr size_t kLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordsCount = 57;
inline constexpr size_t kHeaderSize = 61;
// Bytes before batchLength starts counting (baseOffset + batchLength).
inline constexpr size_t kLogOverhead = 12;
inline constexpr size_t kCrcStart = kAttributes;
inline constexpr int8_t kMagicV2 = 2;

static_assert(kBatchLength == kBaseOffset + 8);
static_assert(kLeaderEpoch == kBatchLength + 4);
static_assert(kMagic == kLeaderEpoch + 4);
static_assert(kCrc == kMagic + 1);
static_assert(kAttributes == kCrc + 4);
static_assert(kLastOffsetDelta == kAttributes + 2);
static_assert(kBaseTimestamp == kLastOffsetDelta + 4);
static_assert(kMaxTimestamp == kBaseTimestamp + 8);
static_assert(kProducerId == kMaxTimestamp + 8);
static_assert(kProducerEpoch == kProducerId + 8);
static_assert(kBaseSequence == kProducerEpoch + 2);
static_assert(kRecordsCount == kBaseSequence + 4);
static_assert(kHeaderSize == kRecordsCount + 4);
static_assert(kLogOverhead == kLeaderEpoch);
}  // namespace batch_layout

// Attribute bits.
inline constexpr int16_t kAttrCompressionMask = 0x07;
inline constexpr int16_t kAttrTimestampType = 0x08;  // 1 = LogAppendTime
inline constexpr int16_t kAttrTransactional = 0x10;
inline constexpr int16_t kAttrControl = 0x20;

// The decoded 61-byte header. Plain value; copying is cheap.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  size_t total_size() const { return size_t(batch_length) + batch_layout::kLogOverhead; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int32_t record_count() const { return records_count; }
  int compression() const { return attributes & kAttrCompressionMask; }
  int timestamp_type() const { return (attributes & kAttrTimestampType) ? 1 : 0; }
  bool is_transactional() const { return (attributes & kAttrTransactional) != 0; }
  bool is_control() const { return (attributes & kAttrControl) != 0; }
  bool has_producer_id() const { return producer_id >= 0; }
  int32_t last_sequence() const {
    // Kafka wraps sequences at INT32_MAX.
    if (base_sequence < 0) return -1;
    int64_t s = int64_t(base_sequence) + last_offset_delta;
    return s > INT32_MAX ? int32_t(s - INT32_MAX - 1) : int32_t(s);
  }
};

// Decodes the header from the first 61 bytes of `bytes`. Checks only that
// enough bytes are present (kCorrupt otherwise); use validate_batch() for the
// rest.
result<BatchHeader> parse_batch_header(std::span<const uint8_t> bytes);

// Checks one whole batch: at least a header, batchLength + 12 == bytes.size(),
// magic 2, lastOffsetDelta >= 0, 0 <= recordsCount <= lastOffsetDelta + 1
// (compaction may leave fewer records than the delta spans), and the CRC.
// Errc::kCorrupt on any failure, with the reason in the message.
status validate_batch(std::span<const uint8_t> batch);

// Splits a Produce request's records blob into whole batches (by length field
// only; call validate_batch on each). kCorrupt on a trailing partial batch or
// a length smaller than a header. The spans alias `records`.
result<std::vector<std::span<uint8_t>>> split_batches(std::span<uint8_t> records);

// Writes baseOffset (bytes 0..7). The CRC does not cover it.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);

// Recomputes and stores the CRC (for tools and tests that build batches).
void update_batch_crc(std::span<uint8_t> batch);

}  // namespace wharf::storage

namespace wharf::storage {

// The offset and timestamp of the first record, in offset order, whose
// timestamp is >= ts: what ListOffsets by time answers. Offsets and
// timestamps are baseOffset/baseTimestamp plus each record's deltas. An
// uncompressed batch is walked in place; a compressed one is first expanded
// into a temporary buffer of at most `max_decompressed` bytes
// (storage/compression.h), since the record may sit inside the batch.
// nullopt when no record qualifies. Errc::kCorrupt for a malformed header,
// compressed stream or record; Errc::kMessageTooLarge when the records expand
// past max_decompressed; Errc::kUnsupported for codec ids 5-7. On an error
// the caller can still answer with the batch's base offset, as a broker that
// cannot look inside would. Runs on the caller's thread: expanding a batch
// costs CPU in proportion to its expanded size, bounded by max_decompressed.
struct RecordPosition {
  int64_t offset;
  int64_t timestamp;
};
result<std::optional<RecordPosition>> first_record_at_or_after(
    std::span<const uint8_t> batch, int64_t ts, size_t max_decompressed = kMaxDecompressedRecordsBytes);

}  // namespace wharf::storage
