#include "broker/stream_cursor.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/endian.h"
#include "base/logging.h"
#include "broker/partition.h"
#include "storage/compression.h"
#include "storage/record_batch.h"
#include "storage/read_slices.h"

namespace wharf::broker {

namespace layout = storage::batch_layout;

queue::Message message_of_record(const queue::RecordRef& r, const std::shared_ptr<const void>& owner) {
  auto m = queue::decode_record(r, owner);
  if (m.ok()) return std::move(*m);
  WLOG_DEBUG("broker", "record at offset {}: {}; delivering its key and value only", r.offset, m.error().message);
  queue::Message plain;
  plain.routing_key.assign(reinterpret_cast<const char*>(r.key.data()), r.key.size());
  plain.body = queue::Body(owner, r.value);
  return plain;
}

int64_t start_offset(const StreamStart& s, Partition& part) {
  const storage::Log& log = part.log();
  int64_t first = log.start_offset().value, end = log.end_offset().value;
  switch (s.kind) {
    case StreamStart::Kind::kFirst: return first;
    case StreamStart::Kind::kLast: return end > first ? end - 1 : end;
    case StreamStart::Kind::kNext: return end;
    case StreamStart::Kind::kOffset: return std::clamp(s.value, first, end);
    case StreamStart::Kind::kTimestamp: {
      auto [offset, ts] = part.offset_for_time(s.value);
      return offset < 0 ? end : std::max(offset, first);
    }
  }
  return end;
}

void StreamCursor::clear() {
  entries_.clear();
  from_ = to_ = 0;
  loaded_ = false;
}

result<size_t> StreamCursor::read(const storage::Log& log, int64_t& next, size_t max,
                                  std::vector<StreamRecord>& out) {
  size_t got = 0;
  // Each pass either returns records or moves `next` forward (a window ends
  // at the last offset its batches cover, which is > next), so the loop ends;
  // the bound only guards against a log that keeps yielding empty windows.
  for (int pass = 0; got < max && pass < 1024; ++pass) {
    if (!loaded_ || next < from_ || next >= to_) {
      if (next < log.start_offset().value) next = log.start_offset().value;
      if (next >= log.end_offset().value) break;
      if (auto st = load(log, next); !st.ok()) {
        if (got > 0) break;  // hand out what was read; the error comes back next time
        return st.error();
      }
    }
    auto it = std::lower_bound(entries_.begin(), entries_.end(), next,
                               [](const Entry& e, int64_t o) { return e.ref.offset < o; });
    for (; it != entries_.end() && got < max; ++it, ++got) {
      StreamRecord rec;
      rec.offset = it->ref.offset;
      rec.timestamp_ms = it->ref.timestamp_ms;
      rec.message = message_of_record(it->ref, it->owner);
      out.push_back(std::move(rec));
      next = it->ref.offset + 1;
    }
    if (got < max) next = std::max(next, to_);  // this window is used up (or ends in a gap)
  }
  return got;
}

status StreamCursor::load(const storage::Log& log, int64_t offset) {
  auto rr = log.read(Offset(offset), window_, /*min_one=*/true);
  if (!rr.ok()) return rr.error();
  auto buf = std::make_shared<std::vector<uint8_t>>(rr->bytes);
  if (auto st = storage::read_slices(rr->slices, *buf, "stream", offset); !st.ok()) return st;
  entries_.clear();
  from_ = to_ = offset;
  loaded_ = true;
  std::shared_ptr<const void> owner = buf;
  std::span<const uint8_t> rest(*buf);
  while (rest.size() >= layout::kHeaderSize) {
    auto h = storage::parse_batch_header(rest);
    if (!h.ok() || h->total_size() > rest.size() || h->total_size() < layout::kHeaderSize) {
      WLOG_ERROR("broker", "unreadable batch header in a stream near offset {}", to_);
      break;
    }
    index_batch(rest.subspan(0, h->total_size()), owner);
    to_ = std::max(to_, h->last_offset() + 1);
    rest = rest.subspan(h->total_size());
  }
  // A read that yielded no batch at all (should not happen below the end):
  // count the offset as read so the caller moves on.
  if (to_ == offset) to_ = offset + 1;
  return {};
}

void StreamCursor::index_batch(std::span<const uint8_t> batch, const std::shared_ptr<const void>& owner) {
  auto skip = [&](const Error& e) {
    auto h = storage::parse_batch_header(batch);
    WLOG_ERROR("broker", "stream reader skips the batch at offset {}: {}", h.ok() ? h->base_offset : -1, e.message);
  };
  if (auto st = storage::validate_batch(batch); !st.ok()) return skip(st.error());
  auto h = storage::parse_batch_header(batch);
  if (!h.ok()) return skip(h.error());
  if (h->is_control()) return;
  std::vector<queue::RecordRef> refs;
  std::shared_ptr<const void> held = owner;
  if (h->compression() != 0) {
    // Expanded into a batch of its own: the same header, uncompressed, so
    // parse_records reads it like any other.
    auto plain = storage::decompress(storage::Codec(h->compression()), batch.subspan(layout::kHeaderSize));
    if (!plain.ok()) return skip(plain.error());
    auto copy = std::make_shared<std::vector<uint8_t>>(layout::kHeaderSize + plain->size());
    std::memcpy(copy->data(), batch.data(), layout::kHeaderSize);
    std::memcpy(copy->data() + layout::kHeaderSize, plain->data(), plain->size());
    store_be32(copy->data() + layout::kBatchLength, uint32_t(copy->size() - layout::kLogOverhead));
    uint16_t attrs = uint16_t(h->attributes & ~storage::kAttrCompressionMask);
    store_be16(copy->data() + layout::kAttributes, attrs);
    held = copy;
    auto st = queue::parse_records(*copy, refs);
    if (!st.ok()) skip(st.error());  // records before the bad one are kept
  } else {
    auto st = queue::parse_records(batch, refs);
    if (!st.ok()) skip(st.error());
  }
  for (const auto& r : refs) {
    // Records are in offset order within a batch and batches follow each
    // other, so entries_ stays sorted; a batch overlapping the previous one
    // (never written by the log) would be dropped here rather than reorder.
    if (!entries_.empty() && r.offset <= entries_.back().ref.offset) continue;
    entries_.push_back(Entry{r, held});
  }
}

}  // namespace wharf::broker
