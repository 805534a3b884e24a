// ProducerStateTable: per-partition state of idempotent producers, used to
// drop resent batches and reject gaps (Kafka's per-partition sequence check).
//
// For each producer id it keeps the epoch and the last kMaxBatches appended
// batches' sequence ranges and offsets, so a retry of any of the last five
// in-flight batches is recognised as a duplicate and answered with its
// original offset.
//
// Snapshot file (producers.snapshot in the partition directory), big-endian:
//   magic "WPS1" | u64 covered_offset | u32 count |
//   count x { i64 pid | i16 epoch | u8 n | n x { i32 first_seq | i32 last_seq | i64 first_off | i64 last_off } } |
//   u32 crc32c(all preceding bytes)
// covered_offset: the state reflects every batch below it; recovery replays
// batch headers from there.
//
// Thread rules: owned by the partition's shard.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "base/result.h"

namespace wharf::broker {

class ProducerStateTable {
 public:
  static constexpr size_t kMaxBatches = 5;

  struct BatchMeta {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
  };
  struct Entry {
    int16_t epoch = -1;
    std::deque<BatchMeta> recent;
  };

  enum class Verdict { kAccept, kDuplicate, kOutOfOrder, kInvalidEpoch };
  struct Check {
    Verdict verdict = Verdict::kAccept;
    int64_t duplicate_offset = -1;  // first offset of the original, for kDuplicate
  };

  Check check(int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq) const;
  void record(int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t first_offset,
              int64_t last_offset);

  size_t size() const { return entries_.size(); }

  status save(const std::string& path, int64_t covered_offset) const;
  // Returns the covered offset, or 0 with an empty table when no valid file.
  int64_t load(const std::string& path);

 private:
  std::unordered_map<int64_t, Entry> entries_;
};

}  // namespace wharf::broker
