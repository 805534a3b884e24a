// Sparse offset index (NNN.index) and time index (NNN.timeindex) entries and
// lookups. Byte layouts: storage/format.h.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/endian.h"
#include "storage/format.h"
#include "storage/index_file.h"

namespace wharf::storage {

struct OffsetEntry {
  static constexpr size_t kSize = format::kIndexEntrySize;
  uint32_t rel_offset = 0;  // batch base offset - segment base offset
  uint32_t position = 0;    // byte position of the batch in the .log

  void encode(uint8_t* p) const {
    store_be32(p + format::kIndexRelOffset, rel_offset);
    store_be32(p + format::kIndexPosition, position);
  }
  static OffsetEntry decode(const uint8_t* p) {
    return {load_be32(p + format::kIndexRelOffset), load_be32(p + format::kIndexPosition)};
  }
};

struct TimeEntry {
  static constexpr size_t kSize = format::kTimeEntrySize;
  int64_t timestamp = -1;   // running max timestamp through the batch below
  uint32_t rel_offset = 0;  // base offset of that batch - segment base offset

  void encode(uint8_t* p) const {
    store_be64(p + format::kTimeTimestamp, uint64_t(timestamp));
    store_be32(p + format::kTimeRelOffset, rel_offset);
  }
  static TimeEntry decode(const uint8_t* p) {
    return {int64_t(load_be64(p + format::kTimeTimestamp)), load_be32(p + format::kTimeRelOffset)};
  }
};

using OffsetIndex = IndexFile<OffsetEntry>;
using TimeIndex = IndexFile<TimeEntry>;

// Last entry with rel_offset <= rel, or {0, 0} (the segment start).
inline OffsetEntry index_floor(const OffsetIndex& idx, uint32_t rel) {
  const auto& v = idx.entries();
  auto it = std::upper_bound(v.begin(), v.end(), rel,
                             [](uint32_t r, const OffsetEntry& e) { return r < e.rel_offset; });
  if (it == v.begin()) return {0, 0};
  return *(it - 1);
}

// Keeps the longest prefix that is strictly increasing in both fields and
// points inside a log of `log_size` bytes. Returns the number kept.
inline size_t offset_index_valid_prefix(const OffsetIndex& idx, uint64_t log_size) {
  const auto& v = idx.entries();
  size_t n = 0;
  for (; n < v.size(); n++) {
    if (v[n].position >= log_size) break;
    if (n > 0 && (v[n].rel_offset <= v[n - 1].rel_offset || v[n].position <= v[n - 1].position)) break;
  }
  return n;
}

// Same for the time index: timestamps and offsets strictly increasing.
inline size_t time_index_valid_prefix(const TimeIndex& idx) {
  const auto& v = idx.entries();
  size_t n = 0;
  for (; n < v.size(); n++) {
    if (n > 0 && (v[n].timestamp <= v[n - 1].timestamp || v[n].rel_offset < v[n - 1].rel_offset)) break;
  }
  return n;
}

}  // namespace wharf::storage
