// Segment: one NNN.log file plus its two sparse indexes.
//
// Ownership: segments are owned by their Log (single owner thread). The .log
// File is shared: FileSlices handed to readers and FlushJobs hold a
// shared_ptr to it, so the descriptor outlives retention deleting the
// segment.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/env.h"
#include "storage/offset_index.h"
#include "storage/record_batch.h"

namespace wharf::storage {

// "<dir>/<20-digit base><suffix>".
std::string segment_file_name(const std::string& dir, int64_t base, std::string_view suffix);
// Parses "<20 digits>.log" style names; nullopt if `name` is not one.
std::optional<int64_t> parse_segment_name(std::string_view name, std::string_view suffix);

struct Segment {
  int64_t base = 0;
  std::string log_path, index_path, time_path;
  std::shared_ptr<File> log;

  uint64_t size = 0;       // bytes of whole batches in .log, `pending` included
  // Appends gathered in memory and not yet written to .log (active segment
  // only, LogConfig::write_buffer_bytes > 0); they are the last
  // pending.size() bytes of `size`.
  std::vector<uint8_t> pending;
  int64_t end = 0;         // next offset after the last batch; exact for the active segment
  int64_t max_ts = -1;     // max batch timestamp, -1 if unknown/none
  int64_t first_append_ms = -1;  // for segment_ms rolling
  int64_t mtime_ms = -1;         // file mtime at open, for retention without timestamps

  // Indexing state of the active segment.
  uint64_t bytes_since_index = 0;
  int64_t last_batch_base = -1;

  // Loaded lazily for non-active segments (read paths are const in Log).
  bool indexes_loaded = false;
  OffsetIndex index;
  TimeIndex time_index;

  // Bytes of .log known durable (set by end_flush and recovery).
  uint64_t synced_size = 0;

  uint32_t rel(int64_t offset) const { return uint32_t(offset - base); }
};

// Reads batch headers of one .log through a small buffer so that walking many
// small batches costs one pread per ~16 KiB instead of one per batch.
class HeaderWalker {
 public:
  HeaderWalker(const File& file, uint64_t file_size) : file_(file), size_(file_size) {}

  // Header of the batch at `pos`. kCorrupt when fewer than 61 bytes remain or
  // the header is implausible (magic != 2, length too small or past the end
  // of the file); kIo on read errors.
  result<BatchHeader> at(uint64_t pos);

 private:
  static constexpr size_t kBufSize = 16 * 1024;
  const File& file_;
  uint64_t size_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace wharf::storage
