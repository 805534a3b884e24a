// Opening a log directory and recovering the tail of its last segment(s).
// Algorithm (docs/storage-format.md, "Recovery"):
//  1. List the dir; every "<20 digits>.log" is a segment. Index files without
//     a .log are stray and removed. Other names are ignored.
//  2. Open every .log (fstat only) and read the last time index entry of
//     each (its max timestamp, for retention). O(segments), no log bytes.
//  3. Drop empty trailing segments while an earlier one exists.
//  4. Recover the last segment and the one before it (a roll may have left
//     the previous segment's tail unsynced when the power went): validate
//     index entries, scan forward from the last entry that names a batch
//     boundary, checking every batch (header, length, CRC, offsets), truncate
//     whatever follows the last good batch with a warning, and rebuild index
//     entries for the scanned part.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "base/endian.h"
#include "base/logging.h"
#include "storage/file_log.h"
#include "storage/format.h"

namespace wharf::storage {

using namespace batch_layout;

namespace {

// Max timestamp recorded by the last whole entry of a time index; -1 if none.
int64_t last_time_entry(Env* env, const std::string& path) {
  if (!env->exists(path)) return -1;
  auto f = env->open_read(path);
  if (!f.ok()) return -1;
  auto sz = (*f)->size();
  if (!sz.ok() || *sz < format::kTimeEntrySize) return -1;
  uint64_t whole = *sz - *sz % format::kTimeEntrySize;
  uint8_t buf[format::kTimeEntrySize];
  auto n = (*f)->pread(whole - format::kTimeEntrySize, buf);
  if (!n.ok() || *n != format::kTimeEntrySize) return -1;
  return TimeEntry::decode(buf).timestamp;
}

}  // namespace

status FileLog::open_dir() {
  if (auto r = env_->create_dir(dir_); !r.ok()) return r;
  auto names = env_->list_dir(dir_);
  if (!names.ok()) return names.error();

  std::vector<int64_t> bases;
  std::map<std::string, int64_t> index_files;  // name -> base
  for (const auto& n : *names) {
    if (auto b = parse_segment_name(n, format::kLogSuffix)) {
      bases.push_back(*b);
    } else if (auto b = parse_segment_name(n, format::kIndexSuffix)) {
      index_files[n] = *b;
    } else if (auto b = parse_segment_name(n, format::kTimeIndexSuffix)) {
      index_files[n] = *b;
    }
  }
  std::sort(bases.begin(), bases.end());
  for (const auto& [name, base] : index_files) {
    if (!std::binary_search(bases.begin(), bases.end(), base)) {
      WLOG_WARN("storage", "{}/{}: index without a segment, removing", dir_, name);
      if (auto r = env_->remove_file(dir_ + "/" + name); !r.ok()) return r;
    }
  }

  if (bases.empty()) {
    if (auto r = create_active(0); !r.ok()) return r;
    durable_ = 0;
    return {};
  }

  for (size_t i = 0; i < bases.size(); i++) {
    auto seg = make_segment(bases[i], /*create=*/false);
    if (!seg.ok()) return seg.error();
    Segment& s = **seg;
    s.end = i + 1 < bases.size() ? bases[i + 1] : s.base;  // exact after recovery for the tail
    s.max_ts = last_time_entry(env_, s.time_path);
    total_size_ += s.size;
    segs_.push_back(std::move(*seg));
  }

  // A segment rolled just before a crash may be empty: the previous segment
  // then carries on as the active one.
  while (segs_.size() > 1 && segs_.back()->size == 0) {
    WLOG_WARN("storage", "{}: removing empty last segment", segs_.back()->log_path);
    if (auto r = remove_segment_files(*segs_.back()); !r.ok()) return r;
    segs_.pop_back();
  }

  if (segs_.size() > 1) {
    Segment& prev = *segs_[segs_.size() - 2];
    uint64_t before = prev.size;
    if (auto r = recover_segment(prev); !r.ok()) return r;
    total_size_ -= before - prev.size;
    // Its rebuilt index entries are written now and synced with the next round.
    if (auto r = prev.index.open_for_append(env_, prev.index_path); !r.ok()) return r;
    if (auto r = prev.time_index.open_for_append(env_, prev.time_path); !r.ok()) return r;
    if (auto r = prev.index.write_pending(); !r.ok()) return r;
    if (auto r = prev.time_index.write_pending(); !r.ok()) return r;
    rolled_files_.push_back(prev.index.release_file());
    rolled_files_.push_back(prev.time_index.release_file());
    if (prev.end > segs_.back()->base) {
      return make_error(Errc::kCorrupt, fmt::format("{}: offsets run into the next segment", prev.log_path));
    }
  }

  Segment& last = active();
  uint64_t before = last.size;
  if (auto r = recover_segment(last); !r.ok()) return r;
  total_size_ -= before - last.size;
  if (auto r = last.index.open_for_append(env_, last.index_path); !r.ok()) return r;
  if (auto r = last.time_index.open_for_append(env_, last.time_path); !r.ok()) return r;
  if (auto r = last.index.write_pending(); !r.ok()) return r;
  if (auto r = last.time_index.write_pending(); !r.ok()) return r;
  if (last.size > 0) last.first_append_ms = last.mtime_ms;

  // What survived recovery is what we call durable: make it so.
  for (size_t i = segs_.size() >= 2 ? segs_.size() - 2 : 0; i < segs_.size(); i++) {
    if (auto r = segs_[i]->log->sync(); !r.ok()) return r;
    segs_[i]->synced_size = segs_[i]->size;
  }
  durable_ = last.end;
  WLOG_INFO("storage", "{}: opened {} segment(s), offsets [{}, {}), {} bytes", dir_, segs_.size(), segs_.front()->base,
            last.end, total_size_);
  return {};
}

status FileLog::recover_segment(Segment& s) {
  // 1. Indexes, cut to their plausible prefix.
  s.indexes_loaded = false;
  if (auto r = load_indexes(s); !r.ok()) return r;

  // 2. Start at the last index entry that names a batch with the expected
  //    base offset; earlier entries are trusted (the bytes before it were
  //    written before it).
  HeaderWalker w(*s.log, s.size);
  uint64_t pos = 0;
  int64_t expected = s.base;
  size_t keep = 0;
  const auto& iv = s.index.entries();
  for (size_t i = iv.size(); i > 0; i--) {
    auto h = w.at(iv[i - 1].position);
    if (h.ok() && h->base_offset == s.base + iv[i - 1].rel_offset) {
      pos = iv[i - 1].position;
      expected = h->base_offset;
      keep = i;
      break;
    }
  }
  if (auto r = s.index.truncate_to(keep); !r.ok()) return r;
  // Time entries for batches before the scan start stay; the rest is rebuilt.
  size_t tkeep = 0;
  const auto& tv = s.time_index.entries();
  while (tkeep < tv.size() && keep > 0 && int64_t(s.base) + tv[tkeep].rel_offset <= expected) tkeep++;
  if (auto r = s.time_index.truncate_to(tkeep); !r.ok()) return r;
  s.max_ts = tkeep > 0 ? tv[tkeep - 1].timestamp : -1;

  // 3. Scan and verify every batch from pos to the end of the file.
  const uint64_t start_pos = pos;
  s.bytes_since_index = 0;
  s.last_batch_base = -1;
  s.end = expected;
  std::vector<uint8_t> buf;
  std::string reason;
  while (pos < s.size) {
    if (s.size - pos < kHeaderSize) {
      reason = fmt::format("{} trailing bytes, less than a batch header", s.size - pos);
      break;
    }
    uint8_t hb[kHeaderSize];
    auto n = s.log->pread(pos, hb);
    if (!n.ok()) return n.error();
    auto h = parse_batch_header(std::span<const uint8_t>(hb, *n));
    if (!h.ok()) {
      reason = h.error().message;
      break;
    }
    if (h->magic != kMagicV2) {
      reason = fmt::format("magic {}", h->magic);
      break;
    }
    if (h->batch_length < int32_t(kHeaderSize - kLogOverhead) || h->total_size() > s.size - pos) {
      reason = fmt::format("batch length {} with {} bytes left", h->batch_length, s.size - pos);
      break;
    }
    if (h->base_offset != expected) {
      reason = fmt::format("base offset {}, expected {}", h->base_offset, expected);
      break;
    }
    buf.resize(h->total_size());
    auto nb = s.log->pread(pos, buf);
    if (!nb.ok()) return nb.error();
    if (auto v = validate_batch(std::span<const uint8_t>(buf.data(), *nb)); !v.ok()) {
      reason = v.error().message;
      break;
    }
    index_batch(s, h->base_offset, h->last_offset(), h->max_timestamp, pos, h->total_size(), pos != start_pos);
    expected = h->last_offset() + 1;
    pos += h->total_size();
  }
  if (pos < s.size) {
    WLOG_WARN("storage", "{}: truncating corrupt or torn tail at byte {} of {} ({})", s.log_path, pos, s.size, reason);
    if (auto r = s.log->truncate(pos); !r.ok()) return r;
    s.size = pos;
  }
  s.end = expected;
  s.indexes_loaded = true;
  return {};
}

}  // namespace wharf::storage
