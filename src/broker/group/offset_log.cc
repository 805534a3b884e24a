#include "broker/group/offset_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/crc32c.h"
#include "base/endian.h"
#include "base/logging.h"
#include "broker/group/record_io.h"

namespace wharf::broker::group {

namespace f = offset_format;
using record_io::put_u16;
using record_io::put_u32;
using record_io::put_u64;
using record_io::Reader;

namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Errc::kIo, what + " " + path + ": " + std::strerror(errno));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Builds a full record (header + payload) around `payload`.
std::string frame(uint8_t type, const std::string& payload) {
  std::string rec;
  rec.reserve(f::kHeaderSize + payload.size());
  put_u32(rec, 0);  // crc, filled below
  put_u32(rec, uint32_t(payload.size()));
  rec.push_back(char(type));
  rec += payload;
  uint32_t crc = crc32c(rec.data() + 4, rec.size() - 4);
  store_be32(reinterpret_cast<uint8_t*>(rec.data()), crc);
  return rec;
}

std::string encode_commit(std::string_view group, std::string_view topic, int32_t partition,
                          const OffsetValue& v) {
  std::string p;
  p.reserve(f::kCommitFixedSize + group.size() + topic.size() + v.metadata.size());
  put_u16(p, uint16_t(group.size()));
  p.append(group);
  put_u16(p, uint16_t(topic.size()));
  p.append(topic);
  put_u32(p, uint32_t(partition));
  put_u64(p, uint64_t(v.offset));
  put_u32(p, uint32_t(v.leader_epoch));
  put_u64(p, uint64_t(v.commit_time_ms));
  put_u32(p, uint32_t(v.metadata.size()));
  p.append(v.metadata);
  return frame(f::kTypeCommit, p);
}

size_t commit_size(std::string_view group, std::string_view topic, const OffsetValue& v) {
  return f::kHeaderSize + f::kCommitFixedSize + group.size() + topic.size() + v.metadata.size();
}

std::string encode_tombstone(std::string_view group) {
  std::string p;
  put_u16(p, uint16_t(group.size()));
  p.append(group);
  put_u64(p, uint64_t(now_ms()));
  return frame(f::kTypeTombstone, p);
}

// A group metadata record: a commit of group "" whose topic is the group id
// (see the header for why). `value` is encode_group_metadata()'s.
std::string encode_group_metadata_record(std::string_view group, const std::string& value) {
  std::string p;
  p.reserve(f::kGroupMetadataFixedSize + group.size() + value.size());
  put_u16(p, 0);
  put_u16(p, uint16_t(group.size()));
  p.append(group);
  put_u32(p, uint32_t(group_metadata_format::kVersion));
  put_u64(p, uint64_t(int64_t(-1)));
  put_u32(p, uint32_t(-1));
  put_u64(p, uint64_t(now_ms()));
  put_u32(p, uint32_t(value.size()));
  p.append(value);
  return frame(f::kTypeCommit, p);
}

size_t group_metadata_record_size(std::string_view group, const GroupMetadata& md) {
  return f::kHeaderSize + f::kGroupMetadataFixedSize + group.size() +
         encoded_group_metadata_size(md);
}

status write_all(int fd, const std::string& data, uint64_t at, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(at + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path);
    }
    done += size_t(n);
  }
  return {};
}

status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open dir", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync dir", dir);
  return {};
}

}  // namespace

OffsetLog::OffsetLog(std::string dir, uint32_t bucket, OffsetLogOptions opts)
    : dir_(std::move(dir)),
      path_(dir_ + "/" + std::to_string(bucket) + ".log"),
      opts_(opts),
      slot_(std::make_shared<SyncSlot>()) {}

OffsetLog::~OffsetLog() = default;  // slot_ closes the fd when the flusher lets go too

result<std::unique_ptr<OffsetLog>> OffsetLog::open(const std::string& dir, uint32_t bucket,
                                                   OffsetLogOptions opts) {
  std::unique_ptr<OffsetLog> log(new OffsetLog(dir, bucket, opts));
  ::unlink((log->path_ + ".tmp").c_str());  // a compaction that did not finish
  int fd = ::open(log->path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open", log->path_);
  log->slot_->fd = fd;  // not yet shared with a flusher: no lock needed
  if (auto st = log->replay(); !st) return st.error();
  return log;
}

status OffsetLog::replay() {
  int fd = slot_->fd;
  struct stat sb;
  if (::fstat(fd, &sb) != 0) return io_error("stat", path_);
  std::string buf(size_t(sb.st_size), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, off_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read", path_);
    if (n == 0) break;
    got += size_t(n);
  }
  buf.resize(got);

  const auto* base = reinterpret_cast<const uint8_t*>(buf.data());
  size_t pos = 0;
  std::string why;
  while (pos < buf.size()) {
    if (buf.size() - pos < f::kHeaderSize) { why = "short header"; break; }
    uint32_t crc = load_be32(base + pos);
    uint32_t len = load_be32(base + pos + 4);
    uint8_t type = base[pos + 8];
    if (len > f::kMaxPayload) { why = "oversized record"; break; }
    if (buf.size() - pos - f::kHeaderSize < len) { why = "short record"; break; }
    if (crc32c(base + pos + 4, f::kHeaderSize - 4 + len) != crc) { why = "crc mismatch"; break; }
    Reader r{base + pos + f::kHeaderSize, len};
    if (type == f::kTypeCommit) {
      std::string group = r.str(r.u16());
      std::string topic = r.str(r.u16());
      int32_t partition = int32_t(r.u32());
      OffsetValue v;
      v.offset = int64_t(r.u64());
      v.leader_epoch = int32_t(r.u32());
      v.commit_time_ms = int64_t(r.u64());
      v.metadata = r.str(r.u32());
      if (!r.ok || r.left != 0) { why = "malformed commit"; break; }
      if (group.empty()) {
        // Group metadata: topic = group id, partition = value version.
        if (auto st = replay_metadata(std::move(topic), partition, v.metadata, pos); !st) {
          why = st.error().message;
          break;
        }
      } else {
        auto& g = groups_[group];
        auto key = std::make_pair(std::move(topic), partition);
        auto it = g.find(key);
        if (it != g.end()) live_bytes_ -= commit_size(group, key.first, it->second);
        live_bytes_ += commit_size(group, key.first, v);
        g[std::move(key)] = std::move(v);
      }
    } else if (type == f::kTypeTombstone) {
      std::string group = r.str(r.u16());
      r.u64();
      if (!r.ok || r.left != 0) { why = "malformed tombstone"; break; }
      if (!group.empty()) forget_group(group);  // "" is the marker after a metadata record
    } else if ((type & f::kTypeOptionalBit) == 0) {
      // A newer broker wrote a record it requires readers to understand.
      // Truncating would destroy it and every later commit: refuse instead.
      return make_error(Errc::kUnsupported,
                        "offsets file " + path_ + ": record type " + std::to_string(type) +
                            " at byte " + std::to_string(pos) +
                            " is not known to this broker (written by a newer version?)");
    }
    pos += f::kHeaderSize + len;
  }
  if (pos < buf.size()) {
    WLOG_WARN("group", "offsets file {}: {} at byte {}; truncating {} bytes", path_, why, pos,
              buf.size() - pos);
    if (::ftruncate(fd, off_t(pos)) != 0) return io_error("truncate", path_);
    if (::fdatasync(fd) != 0) return io_error("fdatasync", path_);
  }
  file_bytes_ = pos;
  return {};
}

status OffsetLog::replay_metadata(std::string group, int32_t version, const std::string& value,
                                  size_t pos) {
  if (group.empty()) return make_error(Errc::kCorrupt, "group metadata without a group");
  auto it = metadata_.find(group);
  if (it != metadata_.end()) live_bytes_ -= group_metadata_record_size(group, it->second);
  if (version != group_metadata_format::kVersion) {
    // Newer than what we hold, so what we hold is stale: forget it.
    WLOG_WARN("group", "offsets file {}: group {} has metadata of unknown version {} at byte {} "
              "(a newer broker); the group keeps only its offsets", path_, group, version, pos);
    if (it != metadata_.end()) metadata_.erase(it);
    return {};
  }
  auto md = decode_group_metadata(value);
  if (!md) {
    if (it != metadata_.end()) live_bytes_ += group_metadata_record_size(group, it->second);
    return md.error();
  }
  live_bytes_ += group_metadata_record_size(group, *md);
  metadata_[std::move(group)] = std::move(*md);
  return {};
}

status OffsetLog::append(const std::string& record) {
  if (auto st = write_all(slot_->fd, record, file_bytes_, path_); !st) {
    // Cut off a partial record so that later appends stay readable.
    if (::ftruncate(slot_->fd, off_t(file_bytes_)) != 0) {
      WLOG_ERROR("group", "offsets file {}: cannot cut back a failed write: {}", path_,
                 std::strerror(errno));
    }
    return st;
  }
  file_bytes_ += record.size();
  slot_->dirty = true;
  return {};
}

status OffsetLog::put(std::string_view group, std::string_view topic, int32_t partition,
                      OffsetValue v) {
  assert(!group.empty() && "the empty group name marks group metadata records");
  if (v.commit_time_ms == 0) v.commit_time_ms = now_ms();
  if (auto st = append(encode_commit(group, topic, partition, v)); !st) return st;
  auto git = groups_.find(group);
  if (git == groups_.end()) git = groups_.emplace(std::string(group), GroupOffsets{}).first;
  auto key = std::make_pair(std::string(topic), partition);
  auto it = git->second.find(key);
  if (it != git->second.end()) live_bytes_ -= commit_size(group, topic, it->second);
  live_bytes_ += commit_size(group, topic, v);
  git->second[std::move(key)] = std::move(v);
  maybe_compact();
  return {};
}

status OffsetLog::put_group(std::string_view group, const GroupMetadata& md) {
  assert(!group.empty() && "group metadata needs a group id");
  std::string value = encode_group_metadata(md);
  if (f::kGroupMetadataFixedSize + group.size() + value.size() > f::kMaxPayload) {
    // Replay would take a larger record for a torn tail: never write one.
    return make_error(Errc::kMessageTooLarge,
                      "group " + std::string(group) + ": metadata of " +
                          std::to_string(value.size()) + " bytes exceeds the record limit");
  }
  // Record and marker in one write: a reader that sees the record also sees
  // the marker unless the write was torn (then replay truncates the marker).
  std::string rec = encode_group_metadata_record(group, value);
  rec += encode_tombstone("");
  if (auto st = append(rec); !st) return st;
  auto it = metadata_.find(group);
  if (it == metadata_.end()) {
    it = metadata_.emplace(std::string(group), md).first;
  } else {
    live_bytes_ -= group_metadata_record_size(group, it->second);
    it->second = md;
  }
  live_bytes_ += group_metadata_record_size(group, md);
  maybe_compact();
  return {};
}

void OffsetLog::maybe_compact() {
  if (!should_compact()) return;
  if (auto st = compact(); !st) {
    WLOG_WARN("group", "offsets file {}: compaction failed: {}", path_, st.error().message);
  }
}

void OffsetLog::forget_group(std::string_view group) {
  if (auto it = groups_.find(group); it != groups_.end()) {
    for (auto& [k, v] : it->second) live_bytes_ -= commit_size(group, k.first, v);
    groups_.erase(it);
  }
  if (auto it = metadata_.find(group); it != metadata_.end()) {
    live_bytes_ -= group_metadata_record_size(group, it->second);
    metadata_.erase(it);
  }
}

status OffsetLog::delete_group(std::string_view group) {
  if (auto st = append(encode_tombstone(group)); !st) return st;
  forget_group(group);
  return {};
}

const GroupOffsets* OffsetLog::find(std::string_view group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

const GroupMetadata* OffsetLog::find_metadata(std::string_view group) const {
  auto it = metadata_.find(group);
  return it == metadata_.end() ? nullptr : &it->second;
}

uint64_t OffsetLog::live_bytes() const {
  return live_bytes_ + (metadata_.empty() ? 0 : f::kMarkerSize);
}

bool OffsetLog::should_compact() const {
  return file_bytes_ > opts_.compact_min_bytes &&
         file_bytes_ > uint64_t(opts_.compact_ratio) * live_bytes();
}

status OffsetLog::compact() {
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open", tmp);
  auto fail = [&](Error e) -> status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  std::string out;
  uint64_t written = 0;
  auto flush_out = [&](size_t at_least) -> status {
    if (out.size() < at_least) return {};
    if (auto st = write_all(fd, out, written, tmp); !st) return st;
    written += out.size();
    out.clear();
    return {};
  };
  for (auto& [group, offsets] : groups_) {
    for (auto& [k, v] : offsets) {
      out += encode_commit(group, k.first, k.second, v);
      if (auto st = flush_out(1u << 20); !st) return fail(st.error());
    }
  }
  for (auto& [group, md] : metadata_) {
    out += encode_group_metadata_record(group, encode_group_metadata(md));
    if (auto st = flush_out(1u << 20); !st) return fail(st.error());
  }
  // One marker hides every metadata record above from offsets-only readers.
  if (!metadata_.empty()) out += encode_tombstone("");
  if (auto st = write_all(fd, out, written, tmp); !st) return fail(st.error());
  written += out.size();
  if (::fdatasync(fd) != 0) return fail(io_error("fdatasync", tmp));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail(io_error("rename", tmp));
  if (auto st = fsync_dir(dir_); !st) {
    WLOG_WARN("group", "{}", st.error().message);  // the rename happened; keep going
  }
  int old;
  {
    std::lock_guard lk(slot_->mu);  // the flusher may be syncing the old fd
    old = slot_->fd;
    slot_->fd = fd;
    slot_->dirty = false;  // the new file was synced above
  }
  ::close(old);
  WLOG_INFO("group", "compacted offsets file {}: {} -> {} bytes", path_, file_bytes_, written);
  file_bytes_ = written;
  return {};
}

status OffsetLog::sync() {
  slot_->dirty = true;
  slot_->sync_if_dirty();
  if (slot_->dirty) return make_error(Errc::kIo, "fdatasync " + path_ + " failed");
  return {};
}

}  // namespace wharf::broker::group
