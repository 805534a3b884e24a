// Log: one partition's ordered, append-only, segmented record log.
//
// Files live in one directory per log (<data>/<topic>-<partition>/), named by
// the base offset of each segment (see docs/storage-format.md):
//   00000000000000000000.log        RecordBatch v2 bytes exactly as produced
//   00000000000000000000.index      sparse offset -> file position
//   00000000000000000000.timeindex  sparse max timestamp -> offset
//
// Thread rules: a Log is owned by one shard thread. Every method except
// run_flush() must be called on that thread. run_flush() may run on any thread
// (the shard's flusher) while the owner keeps appending.
//
// Durability: append() writes to the page cache. Data becomes durable only
// through begin_flush()/run_flush()/end_flush(); callers group-commit by
// flushing many appends (and many logs) with one fdatasync round.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/file_slice.h"
#include "base/ids.h"
#include "base/result.h"
#include "storage/env.h"
#include "storage/record_batch.h"

namespace wharf::storage {

struct LogConfig {
  uint64_t segment_bytes = 1ull << 30;       // roll when the active segment would exceed this
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;  // roll when the active segment is older than this
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // -1: keep forever
  int64_t retention_bytes = -1;              // -1: no size limit
  uint32_t index_interval_bytes = 4096;      // bytes between sparse index entries
  // > 0: appends smaller than this gather in memory and reach the file in one
  // write when the buffer would overflow, before any read, at a flush round
  // or roll, or when the owner calls flush_writes() (queues do at the end of
  // each event-loop turn). Saves one system call per small append; the cost
  // is that a process crash loses appends not yet written, so only owners
  // that confirm nothing before a flush round (queues) turn it on.
  uint32_t write_buffer_bytes = 0;
};

struct AppendResult {
  Offset base_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
};

struct ReadResult {
  std::vector<FileSlice> slices;  // whole batches, in offset order
  size_t bytes = 0;
};

// Work for one fdatasync round over one log.
struct FlushJob {
  std::vector<std::shared_ptr<File>> files;  // files with unsynced bytes
  Offset upto;                               // all offsets < upto are durable after the round
  bool empty() const { return files.empty(); }
};

class Log {
 public:
  // Opens or creates the log in `dir`, recovering the tail of the last
  // segment: it is scanned from its last valid index entry and a torn or
  // corrupt tail is truncated with a warning naming the file and position.
  // Cost is O(segments), never O(bytes).
  static result<std::unique_ptr<Log>> open(Env* env, std::string dir, LogConfig config);

  virtual ~Log() = default;

  // Appends one validated RecordBatch v2 (see record_batch.h). Writes the
  // assigned base offset into bytes 0..7 of `batch` (the CRC does not cover
  // them), rolls the segment first if needed, and updates the indexes.
  virtual result<AppendResult> append(std::span<uint8_t> batch, int64_t now_ms) = 0;
  // Writes appends gathered by write_buffer_bytes to the file (page cache).
  virtual status flush_writes() { return {}; }

  // Whole batches from the one containing `from`, up to `max_bytes` in total.
  // When `min_one` is set the first batch is returned even if it alone is
  // larger than max_bytes (KIP-74). kOffsetOutOfRange when from < start or
  // from > end.
  virtual result<ReadResult> read(Offset from, size_t max_bytes, bool min_one) const = 0;

  virtual Offset start_offset() const = 0;  // first offset still stored
  virtual Offset end_offset() const = 0;    // offset the next record gets
  virtual uint64_t size_bytes() const = 0;

  // First offset of the first batch whose max timestamp >= ts (ListOffsets by
  // time); nullopt when no such batch.
  virtual std::optional<Offset> offset_for_timestamp(int64_t ts) const = 0;

  // Durability, see the header comment.
  virtual Offset durable_offset() const = 0;
  virtual FlushJob begin_flush() = 0;
  static status run_flush(const FlushJob& job);
  // Runs several logs' jobs as one round (see File::sync_many): with many
  // files this is one filesystem-wide sync instead of one fdatasync each.
  static status run_flush_all(std::span<const FlushJob* const> jobs);
  virtual void end_flush(const FlushJob& job) = 0;

  // Deletes whole segments that are entirely older than retention_ms or that
  // push the log over retention_bytes; never the active segment. Moves
  // start_offset. Returns the number of segments deleted.
  virtual result<size_t> apply_retention(int64_t now_ms) = 0;

  // Deletes whole segments every offset of which is < `offset`, oldest first,
  // never the active segment, and moves start_offset to the new first
  // segment's base. Queues call it with their lowest unsettled offset
  // (retention by acknowledgement). Returns the number of segments deleted.
  virtual result<size_t> delete_segments_before(Offset offset) = 0;

  // Starts a new, empty active segment unless the active one is empty, so
  // that the old one becomes deletable (a queue whose messages are all
  // consumed). Offsets are unchanged.
  virtual status roll_active(int64_t now_ms) = 0;

  // Calls `fn` with the header of every batch whose last offset >= from, in
  // order, reading only the 61-byte headers. Used to rebuild producer state.
  virtual status scan_headers(Offset from, const std::function<void(const BatchHeader&)>& fn) const = 0;

  // Flushes and closes all files; the log must not be used afterwards.
  virtual status close() = 0;

  // Removes a log directory and everything in it (topic deletion).
  static status remove(Env* env, const std::string& dir);
};

}  // namespace wharf::storage
