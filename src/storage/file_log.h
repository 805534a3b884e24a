// FileLog: the Log implementation over segment files (log.h has the
// contract, docs/storage-format.md the layout and recovery algorithm).
//
// Thread rules: everything runs on the owner thread except Log::run_flush(),
// which touches only the Files in a FlushJob. Reads are const but fill
// lazily loaded index caches (mutable), which is fine on the owner thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/log.h"
#include "storage/segment.h"

namespace wharf::storage {

class FileLog final : public Log {
 public:
  FileLog(Env* env, std::string dir, LogConfig config);
  ~FileLog() override = default;
  status flush_writes() override { return write_pending(); }

  // Lists, opens and recovers the directory (recovery.cc).
  status open_dir();

  result<AppendResult> append(std::span<uint8_t> batch, int64_t now_ms) override;
  result<ReadResult> read(Offset from, size_t max_bytes, bool min_one) const override;
  Offset start_offset() const override { return Offset(segs_.front()->base); }
  Offset end_offset() const override { return Offset(segs_.back()->end); }
  uint64_t size_bytes() const override { return total_size_; }
  std::optional<Offset> offset_for_timestamp(int64_t ts) const override;
  Offset durable_offset() const override { return Offset(durable_); }
  FlushJob begin_flush() override;
  void end_flush(const FlushJob& job) override;
  result<size_t> apply_retention(int64_t now_ms) override;
  result<size_t> delete_segments_before(Offset offset) override;
  status roll_active(int64_t now_ms) override { return active().size == 0 ? status{} : roll(now_ms); }
  status scan_headers(Offset from, const std::function<void(const BatchHeader&)>& fn) const override;
  status close() override;

  size_t segment_count() const { return segs_.size(); }

 private:
  // Writes the active segment's pending appends (see LogConfig).
  status write_pending() const;
  Segment& active() { return *segs_.back(); }
  uint64_t segment_limit() const;
  result<std::unique_ptr<Segment>> make_segment(int64_t base, bool create);
  status create_active(int64_t base);
  status roll(int64_t now_ms);
  void index_batch(Segment& s, int64_t base, int64_t last_offset, int64_t max_ts, uint64_t pos, uint64_t size,
                   bool may_index);
  status load_indexes(Segment& s) const;
  // Index of the last segment with base <= offset (0 if none).
  size_t find_segment(int64_t offset) const;
  // Position of the batch containing `from` (or the first batch after it) in
  // s; s.size when there is none.
  result<uint64_t> locate(Segment& s, int64_t from, HeaderWalker& w) const;
  // Recovery (recovery.cc): validates the indexes of `s`, scans its tail,
  // truncates a corrupt tail, rebuilds index entries.
  status recover_segment(Segment& s);
  status remove_segment_files(const Segment& s);

  Env* env_;
  std::string dir_;
  LogConfig cfg_;
  std::vector<std::unique_ptr<Segment>> segs_;  // by base offset; back() is active; never empty once open
  uint64_t total_size_ = 0;
  int64_t durable_ = 0;
  // Files of rolled segments that still need one fdatasync. Cleared by
  // end_flush() for the files its job carried.
  std::vector<std::shared_ptr<File>> rolled_files_;
  // Active-segment bytes handed to the in-flight flush job.
  int64_t inflight_base_ = -1;
  uint64_t inflight_size_ = 0;
  bool closed_ = false;
};

}  // namespace wharf::storage
