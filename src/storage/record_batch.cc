#include "storage/record_batch.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "base/crc32c.h"
#include "base/endian.h"

namespace wharf::storage {

using namespace batch_layout;

result<BatchHeader> parse_batch_header(std::span<const uint8_t> b) {
  if (b.size() < kHeaderSize) {
    return make_error(Errc::kCorrupt, fmt::format("record batch header needs {} bytes, have {}", kHeaderSize, b.size()));
  }
  const uint8_t* p = b.data();
  BatchHeader h;
  h.base_offset = int64_t(load_be64(p + kBaseOffset));
  h.batch_length = int32_t(load_be32(p + kBatchLength));
  h.partition_leader_epoch = int32_t(load_be32(p + kLeaderEpoch));
  h.magic = int8_t(p[kMagic]);
  h.crc = load_be32(p + kCrc);
  h.attributes = int16_t(load_be16(p + kAttributes));
  h.last_offset_delta = int32_t(load_be32(p + kLastOffsetDelta));
  h.base_timestamp = int64_t(load_be64(p + kBaseTimestamp));
  h.max_timestamp = int64_t(load_be64(p + kMaxTimestamp));
  h.producer_id = int64_t(load_be64(p + kProducerId));
  h.producer_epoch = int16_t(load_be16(p + kProducerEpoch));
  h.base_sequence = int32_t(load_be32(p + kBaseSequence));
  h.records_count = int32_t(load_be32(p + kRecordsCount));
  return h;
}

status validate_batch(std::span<const uint8_t> b) {
  auto hr = parse_batch_header(b);
  if (!hr.ok()) return hr.error();
  const BatchHeader& h = *hr;
  if (h.magic != kMagicV2) return make_error(Errc::kCorrupt, fmt::format("record batch magic {} (want 2)", h.magic));
  if (h.batch_length < int32_t(kHeaderSize - kLogOverhead) || h.total_size() != b.size()) {
    return make_error(Errc::kCorrupt,
                      fmt::format("record batch length {} does not match {} bytes", h.batch_length, b.size()));
  }
  if (h.last_offset_delta < 0) {
    return make_error(Errc::kCorrupt, fmt::format("record batch lastOffsetDelta {}", h.last_offset_delta));
  }
  if (h.records_count < 0 || int64_t(h.records_count) > int64_t(h.last_offset_delta) + 1) {
    return make_error(Errc::kCorrupt, fmt::format("record batch recordsCount {} with lastOffsetDelta {}",
                                                  h.records_count, h.last_offset_delta));
  }
  uint32_t crc = crc32c(b.data() + kCrcStart, b.size() - kCrcStart);
  if (crc != h.crc) {
    return make_error(Errc::kCorrupt, fmt::format("record batch crc {:08x}, computed {:08x}", h.crc, crc));
  }
  return {};
}

result<std::vector<std::span<uint8_t>>> split_batches(std::span<uint8_t> records) {
  std::vector<std::span<uint8_t>> out;
  size_t pos = 0;
  while (pos < records.size()) {
    size_t left = records.size() - pos;
    if (left < kLogOverhead) {
      return make_error(Errc::kCorrupt, fmt::format("partial record batch: {} trailing bytes", left));
    }
    int32_t len = int32_t(load_be32(records.data() + pos + kBatchLength));
    if (len < int32_t(kHeaderSize - kLogOverhead)) {
      return make_error(Errc::kCorrupt, fmt::format("record batch length {} at byte {}", len, pos));
    }
    size_t total = size_t(len) + kLogOverhead;
    if (total > left) {
      return make_error(Errc::kCorrupt,
                        fmt::format("partial record batch at byte {}: needs {} bytes, have {}", pos, total, left));
    }
    out.push_back(records.subspan(pos, total));
    pos += total;
  }
  return out;
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  assert(batch.size() >= 8);
  store_be64(batch.data() + kBaseOffset, uint64_t(base_offset));
}

void update_batch_crc(std::span<uint8_t> batch) {
  assert(batch.size() >= kHeaderSize);
  store_be32(batch.data() + kCrc, crc32c(batch.data() + kCrcStart, batch.size() - kCrcStart));
}

}  // namespace wharf::storage

namespace wharf::storage {

namespace {
// Kafka record fields are zigzag varints.
bool read_varlong(std::span<const uint8_t> b, size_t* pos, int64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= b.size()) return false;
    uint8_t c = b[(*pos)++];
    v |= uint64_t(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = int64_t(v >> 1) ^ -int64_t(v & 1);
      return true;
    }
  }
  return false;
}

// Walks a records section (plain bytes) for the first record with timestamp
// >= ts. Each record is [length varint][attributes int8][timestampDelta
// varlong][offsetDelta varint][key, value, headers...]; only the first three
// fields are read, each within its record's own length.
result<std::optional<RecordPosition>> walk_records(std::span<const uint8_t> recs, const BatchHeader& h, int64_t ts) {
  size_t pos = 0;
  for (int32_t i = 0; i < h.records_count; ++i) {
    int64_t len = 0;
    if (!read_varlong(recs, &pos, &len) || len < 1 || uint64_t(len) > recs.size() - pos) {
      return make_error(Errc::kCorrupt, fmt::format("record {} of {}: bad length", i, h.records_count));
    }
    auto rec = recs.subspan(pos, size_t(len));
    size_t rp = 1;  // past attributes
    int64_t ts_delta = 0, off_delta = 0;
    if (!read_varlong(rec, &rp, &ts_delta) || !read_varlong(rec, &rp, &off_delta)) {
      return make_error(Errc::kCorrupt, fmt::format("record {} of {}: truncated", i, h.records_count));
    }
    // Wrapping adds: hostile deltas must not be undefined behaviour.
    int64_t rts = int64_t(uint64_t(h.base_timestamp) + uint64_t(ts_delta));
    if (rts >= ts) {
      int64_t offset = int64_t(uint64_t(h.base_offset) + uint64_t(off_delta));
      return std::optional<RecordPosition>(RecordPosition{offset, rts});
    }
    pos += size_t(len);
  }
  return std::optional<RecordPosition>();
}
}  // namespace

result<std::optional<RecordPosition>> first_record_at_or_after(std::span<const uint8_t> batch, int64_t ts,
                                                               size_t max_decompressed) {
  auto h = parse_batch_header(batch);
  if (!h.ok()) return h.error();
  if (h->magic != kMagicV2 || h->batch_length < int32_t(kHeaderSize - kLogOverhead) || h->records_count < 0) {
    return make_error(Errc::kCorrupt, "malformed record batch header");
  }
  if (h->records_count == 0) return std::optional<RecordPosition>();
  auto recs = batch.subspan(kHeaderSize, std::min(batch.size(), h->total_size()) - kHeaderSize);
  Codec codec = Codec(h->compression());
  if (codec == Codec::kNone) return walk_records(recs, *h, ts);  // in place, no copy
  auto plain = decompress(codec, recs, max_decompressed);
  if (!plain.ok()) return plain.error();
  return walk_records(*plain, *h, ts);
}

}  // namespace wharf::storage
