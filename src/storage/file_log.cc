// FileLog: append, read, time lookup, group-commit flush, retention.
// Open and recovery live in recovery.cc.
#include "storage/file_log.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/endian.h"
#include "base/logging.h"
#include "storage/format.h"

namespace wharf::storage {

using namespace batch_layout;

result<std::unique_ptr<Log>> Log::open(Env* env, std::string dir, LogConfig config) {
  auto log = std::make_unique<FileLog>(env, std::move(dir), config);
  auto s = log->open_dir();
  if (!s.ok()) return s.error();
  return std::unique_ptr<Log>(std::move(log));
}

status Log::run_flush(const FlushJob& job) {
  for (const auto& f : job.files) {
    auto s = f->sync();
    if (!s.ok()) return s;
  }
  return {};
}

status Log::run_flush_all(std::span<const FlushJob* const> jobs) {
  std::vector<std::shared_ptr<File>> files;
  for (const FlushJob* j : jobs) files.insert(files.end(), j->files.begin(), j->files.end());
  if (files.empty()) return {};
  return files.front()->sync_many(files);
}

status Log::remove(Env* env, const std::string& dir) { return env->remove_dir_recursive(dir); }

FileLog::FileLog(Env* env, std::string dir, LogConfig config) : env_(env), dir_(std::move(dir)), cfg_(config) {}

uint64_t FileLog::segment_limit() const { return std::min<uint64_t>(cfg_.segment_bytes, format::kMaxSegmentBytes); }

result<std::unique_ptr<Segment>> FileLog::make_segment(int64_t base, bool create) {
  auto s = std::make_unique<Segment>();
  s->base = base;
  s->end = base;
  s->log_path = segment_file_name(dir_, base, format::kLogSuffix);
  s->index_path = segment_file_name(dir_, base, format::kIndexSuffix);
  s->time_path = segment_file_name(dir_, base, format::kTimeIndexSuffix);
  auto f = env_->open_append(s->log_path);
  if (!f.ok()) return f.error();
  s->log = std::move(*f);
  if (!create) {
    auto sz = s->log->size();
    if (!sz.ok()) return sz.error();
    s->size = *sz;
    s->synced_size = *sz;
    auto mt = env_->mtime_ms(s->log_path);
    if (mt.ok()) s->mtime_ms = *mt;
  }
  return s;
}

// Creates a new, empty active segment at `base` with its index files open.
status FileLog::create_active(int64_t base) {
  auto seg = make_segment(base, /*create=*/true);
  if (!seg.ok()) return seg.error();
  Segment& s = **seg;
  // A leftover of an earlier life at this base would be stale.
  if (auto r = s.log->truncate(0); !r.ok()) return r;
  s.indexes_loaded = true;
  if (auto r = s.index.open_for_append(env_, s.index_path); !r.ok()) return r;
  if (auto r = s.time_index.open_for_append(env_, s.time_path); !r.ok()) return r;
  segs_.push_back(std::move(*seg));
  return {};
}

status FileLog::write_pending() const {
  Segment& s = *segs_.back();
  if (s.pending.empty()) return {};
  uint64_t pos = s.size - s.pending.size();
  if (auto r = s.log->append(s.pending); !r.ok()) {
    (void)s.log->truncate(pos);  // drop a partial write; the bytes stay pending for a retry
    return r;
  }
  s.pending.clear();
  return {};
}

status FileLog::roll(int64_t now_ms) {
  if (auto r = write_pending(); !r.ok()) return r;
  Segment& old = active();
  // Final time entry, so the segment's max timestamp is the last entry.
  if (old.max_ts >= 0 && old.last_batch_base >= 0 &&
      (old.time_index.empty() || old.max_ts > old.time_index.back().timestamp)) {
    old.time_index.push_back({old.max_ts, old.rel(old.last_batch_base)});
  }
  if (auto s = old.index.write_pending(); !s.ok()) return s;
  if (auto s = old.time_index.write_pending(); !s.ok()) return s;
  if (old.size > old.synced_size) rolled_files_.push_back(old.log);
  if (auto f = old.index.release_file()) rolled_files_.push_back(std::move(f));
  if (auto f = old.time_index.release_file()) rolled_files_.push_back(std::move(f));
  old.mtime_ms = now_ms;
  return create_active(old.end);
}

void FileLog::index_batch(Segment& s, int64_t base, int64_t last_offset, int64_t max_ts, uint64_t pos,
                          uint64_t size, bool may_index) {
  bool indexed = false;
  if (may_index && s.bytes_since_index >= cfg_.index_interval_bytes) {
    s.index.push_back({s.rel(base), uint32_t(pos)});
    s.bytes_since_index = 0;
    indexed = true;
  }
  s.bytes_since_index += size;
  if (max_ts > s.max_ts) s.max_ts = max_ts;
  if (indexed && s.max_ts >= 0 && (s.time_index.empty() || s.max_ts > s.time_index.back().timestamp)) {
    s.time_index.push_back({s.max_ts, s.rel(base)});
  }
  s.last_batch_base = base;
  s.end = last_offset + 1;
}

result<AppendResult> FileLog::append(std::span<uint8_t> batch, int64_t now_ms) {
  if (batch.size() < kHeaderSize || load_be32(batch.data() + kBatchLength) + kLogOverhead != batch.size()) {
    return make_error(Errc::kCorrupt, "append: not one whole record batch");
  }
  if (batch.size() > segment_limit()) {
    return make_error(Errc::kMessageTooLarge, fmt::format("append: batch of {} bytes exceeds segment size", batch.size()));
  }
  int32_t delta = int32_t(load_be32(batch.data() + kLastOffsetDelta));
  int64_t max_ts = int64_t(load_be64(batch.data() + kMaxTimestamp));
  if (delta < 0) return make_error(Errc::kCorrupt, "append: negative lastOffsetDelta");

  Segment* s = &active();
  if (s->size > 0 && (s->size + batch.size() > segment_limit() ||
                      (s->first_append_ms >= 0 && now_ms - s->first_append_ms >= cfg_.segment_ms))) {
    if (auto r = roll(now_ms); !r.ok()) return r.error();
    s = &active();
  }
  int64_t base = s->end;
  set_base_offset(batch, base);
  uint64_t pos = s->size;
  if (cfg_.write_buffer_bytes > 0 && batch.size() < cfg_.write_buffer_bytes) {
    if (s->pending.size() + batch.size() > cfg_.write_buffer_bytes) {
      if (auto r = write_pending(); !r.ok()) return r.error();
    }
    s->pending.insert(s->pending.end(), batch.begin(), batch.end());
  } else {
    if (auto r = write_pending(); !r.ok()) return r.error();
    if (auto r = s->log->append(batch); !r.ok()) {
      (void)s->log->truncate(pos);  // drop a partial write; the error is reported either way
      return r.error();
    }
  }
  if (s->first_append_ms < 0) s->first_append_ms = now_ms;
  s->mtime_ms = now_ms;
  index_batch(*s, base, base + delta, max_ts, pos, batch.size(), true);
  s->size += batch.size();
  total_size_ += batch.size();
  return AppendResult{Offset(base), Offset(base + delta), max_ts};
}

status FileLog::load_indexes(Segment& s) const {
  if (s.indexes_loaded) return {};
  if (auto r = s.index.load(env_, s.index_path); !r.ok()) return r;
  if (auto r = s.index.truncate_to(offset_index_valid_prefix(s.index, s.size)); !r.ok()) return r;
  if (auto r = s.time_index.load(env_, s.time_path); !r.ok()) return r;
  if (auto r = s.time_index.truncate_to(time_index_valid_prefix(s.time_index)); !r.ok()) return r;
  s.indexes_loaded = true;
  return {};
}

size_t FileLog::find_segment(int64_t offset) const {
  auto it = std::upper_bound(segs_.begin(), segs_.end(), offset,
                             [](int64_t o, const std::unique_ptr<Segment>& s) { return o < s->base; });
  return it == segs_.begin() ? 0 : size_t(it - segs_.begin()) - 1;
}

result<uint64_t> FileLog::locate(Segment& s, int64_t from, HeaderWalker& w) const {
  if (from <= s.base) return uint64_t(0);
  if (auto r = load_indexes(s); !r.ok()) return r.error();
  OffsetEntry e = index_floor(s.index, s.rel(from));
  uint64_t pos = e.position;
  bool checked = pos == 0;
  while (pos < s.size) {
    auto h = w.at(pos);
    if (!checked) {
      checked = true;
      // An index entry must name a batch boundary; otherwise walk from 0.
      if (!h.ok() || h->base_offset != s.base + e.rel_offset) {
        pos = 0;
        continue;
      }
    }
    if (!h.ok()) return h.error();
    if (h->last_offset() >= from) return pos;
    pos += h->total_size();
  }
  return s.size;
}

result<ReadResult> FileLog::read(Offset from_off, size_t max_bytes, bool min_one) const {
  int64_t from = from_off.value;
  int64_t start = segs_.front()->base, end = segs_.back()->end;
  if (from < start || from > end) {
    return make_error(Errc::kOffsetOutOfRange, fmt::format("offset {} outside [{}, {}]", from, start, end));
  }
  ReadResult rr;
  if (from == end) return rr;
  if (auto r = write_pending(); !r.ok()) return r.error();
  bool locating = true;
  for (size_t i = find_segment(from); i < segs_.size(); i++) {
    Segment& s = *segs_[i];
    if (s.size == 0) continue;
    HeaderWalker w(*s.log, s.size);
    uint64_t pos = 0;
    if (locating) {
      auto p = locate(s, from, w);
      if (!p.ok()) return p.error();
      pos = *p;
      locating = false;
    }
    uint64_t slice_start = pos;
    bool full = false;
    while (pos < s.size) {
      auto h = w.at(pos);
      if (!h.ok()) return h.error();
      size_t sz = h->total_size();
      if (rr.bytes + sz > max_bytes && !(min_one && rr.bytes == 0)) {
        full = true;
        break;
      }
      rr.bytes += sz;
      pos += sz;
    }
    if (pos > slice_start) {
      rr.slices.push_back(FileSlice{s.log, s.log->fd(), int64_t(slice_start), size_t(pos - slice_start)});
    }
    if (full) break;
  }
  return rr;
}

std::optional<Offset> FileLog::offset_for_timestamp(int64_t ts) const {
  if (!write_pending().ok()) return std::nullopt;
  for (const auto& sp : segs_) {
    Segment& s = *sp;
    if (s.size == 0) continue;
    if (s.max_ts >= 0 && s.max_ts < ts) continue;
    if (!load_indexes(s).ok()) continue;
    HeaderWalker w(*s.log, s.size);
    uint64_t pos = 0;
    // First time entry with timestamp >= ts; the wanted batch lies after the
    // entry before it.
    const auto& tv = s.time_index.entries();
    auto it = std::lower_bound(tv.begin(), tv.end(), ts, [](const TimeEntry& e, int64_t t) { return e.timestamp < t; });
    if (it != tv.begin()) {
      auto p = locate(s, s.base + (it - 1)->rel_offset, w);
      if (!p.ok()) return std::nullopt;
      pos = *p;
    }
    while (pos < s.size) {
      auto h = w.at(pos);
      if (!h.ok()) return std::nullopt;
      if (h->max_timestamp >= ts) return Offset(h->base_offset);
      pos += h->total_size();
    }
  }
  return std::nullopt;
}

status FileLog::scan_headers(Offset from_off, const std::function<void(const BatchHeader&)>& fn) const {
  if (auto r = write_pending(); !r.ok()) return r;
  int64_t from = from_off.value;
  bool locating = true;
  for (size_t i = find_segment(from); i < segs_.size(); i++) {
    Segment& s = *segs_[i];
    if (s.size == 0) continue;
    HeaderWalker w(*s.log, s.size);
    uint64_t pos = 0;
    if (locating) {
      auto p = locate(s, from, w);
      if (!p.ok()) return p.error();
      pos = *p;
      locating = false;
    }
    while (pos < s.size) {
      auto h = w.at(pos);
      if (!h.ok()) return h.error();
      if (h->last_offset() >= from) fn(*h);
      pos += h->total_size();
    }
  }
  return {};
}

FlushJob FileLog::begin_flush() {
  FlushJob job;
  Segment& s = active();
  job.upto = Offset(s.end);
  if (auto r = write_pending(); !r.ok()) {
    // Nothing new can be called durable; the next round retries.
    WLOG_WARN("storage", "{}: {}", s.log_path, r.error().message);
    job.upto = Offset(durable_);
    job.files = rolled_files_;
    inflight_base_ = -1;
    return job;
  }
  // Index files are hints (rebuilt on recovery): written now, synced on roll.
  if (auto r = s.index.write_pending(); !r.ok()) WLOG_WARN("storage", "{}: {}", s.index_path, r.error().message);
  if (auto r = s.time_index.write_pending(); !r.ok()) WLOG_WARN("storage", "{}: {}", s.time_path, r.error().message);
  job.files = rolled_files_;
  if (s.size > s.synced_size) {
    job.files.push_back(s.log);
    inflight_base_ = s.base;
    inflight_size_ = s.size;
  } else {
    inflight_base_ = -1;
  }
  return job;
}

void FileLog::end_flush(const FlushJob& job) {
  durable_ = std::max(durable_, job.upto.value);
  std::erase_if(rolled_files_, [&](const std::shared_ptr<File>& f) {
    return std::find(job.files.begin(), job.files.end(), f) != job.files.end();
  });
  for (auto& s : segs_) {
    if (s->base == inflight_base_) s->synced_size = std::max(s->synced_size, inflight_size_);
  }
  inflight_base_ = -1;
}

status FileLog::remove_segment_files(const Segment& s) {
  for (const std::string* p : {&s.log_path, &s.index_path, &s.time_path}) {
    if (!env_->exists(*p)) continue;
    if (auto r = env_->remove_file(*p); !r.ok()) return r;
  }
  return {};
}

result<size_t> FileLog::apply_retention(int64_t now_ms) {
  size_t deleted = 0;
  while (segs_.size() > 1) {
    Segment& s = *segs_.front();
    bool expire = false;
    if (cfg_.retention_ms >= 0) {
      int64_t ts = s.max_ts >= 0 ? s.max_ts : s.mtime_ms;
      expire = ts >= 0 && now_ms - ts > cfg_.retention_ms;
    }
    if (!expire && cfg_.retention_bytes >= 0) {
      expire = total_size_ - s.size >= uint64_t(cfg_.retention_bytes);
    }
    if (!expire) break;
    if (auto r = remove_segment_files(s); !r.ok()) return r.error();
    WLOG_INFO("storage", "{}: retention deleted segment {} ({} bytes, offsets {}..{})", dir_, s.base, s.size, s.base,
              s.end - 1);
    total_size_ -= s.size;
    segs_.erase(segs_.begin());
    deleted++;
  }
  if (durable_ < segs_.front()->base) durable_ = segs_.front()->base;
  return deleted;
}

result<size_t> FileLog::delete_segments_before(Offset offset) {
  size_t deleted = 0;
  // segs_[1]->base <= offset: the first segment ends before `offset`.
  while (segs_.size() > 1 && segs_[1]->base <= offset.value) {
    Segment& s = *segs_.front();
    if (auto r = remove_segment_files(s); !r.ok()) return r.error();
    WLOG_DEBUG("storage", "{}: deleted consumed segment {} ({} bytes)", dir_, s.base, s.size);
    total_size_ -= s.size;
    segs_.erase(segs_.begin());
    deleted++;
  }
  if (durable_ < segs_.front()->base) durable_ = segs_.front()->base;
  return deleted;
}

status FileLog::close() {
  if (closed_) return {};
  FlushJob job = begin_flush();
  // The active segment's indexes are synced too: a clean shutdown leaves them exact.
  Segment& s = active();
  if (auto f = s.index.file()) job.files.push_back(f);
  if (auto f = s.time_index.file()) job.files.push_back(f);
  auto r = run_flush(job);
  if (!r.ok()) return r;
  end_flush(job);
  rolled_files_.clear();
  // .log descriptors are not closed here: FileSlices handed to readers may
  // still use them. They close when the last shared_ptr goes.
  if (auto f = s.index.release_file()) (void)f->close();
  if (auto f = s.time_index.release_file()) (void)f->close();
  closed_ = true;
  return {};
}

}  // namespace wharf::storage
