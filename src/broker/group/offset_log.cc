#include "broker/group/offset_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/crc32c.h"
#include "base/endian.h"
#include "base/logging.h"

namespace wharf::broker::group {

namespace f = offset_format;

namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Errc::kIo, what + " " + path + ": " + std::strerror(errno));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void put_u16(std::string& s, uint16_t v) { uint8_t b[2]; store_be16(b, v); s.append(reinterpret_cast<char*>(b), 2); }
void put_u32(std::string& s, uint32_t v) { uint8_t b[4]; store_be32(b, v); s.append(reinterpret_cast<char*>(b), 4); }
void put_u64(std::string& s, uint64_t v) { uint8_t b[8]; store_be64(b, v); s.append(reinterpret_cast<char*>(b), 8); }

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

// Bounds-checked reader over one payload.
struct Reader {
  const uint8_t* p;
  size_t left;
  bool ok = true;
  bool need(size_t n) { if (left < n) ok = false; return ok; }
  uint16_t u16() { if (!need(2)) return 0; uint16_t v = load_be16(p); p += 2; left -= 2; return v; }
  uint32_t u32() { if (!need(4)) return 0; uint32_t v = load_be32(p); p += 4; left -= 4; return v; }
  uint64_t u64() { if (!need(8)) return 0; uint64_t v = load_be64(p); p += 8; left -= 8; return v; }
  std::string str(size_t n) {
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(p), n); p += n; left -= n; return s;
  }
};

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
    std::string group = r.str(r.u16());
    if (type == f::kTypeCommit) {
      std::string topic = r.str(r.u16());
      int32_t partition = int32_t(r.u32());
      OffsetValue v;
      v.offset = int64_t(r.u64());
      v.leader_epoch = int32_t(r.u32());
      v.commit_time_ms = int64_t(r.u64());
      v.metadata = r.str(r.u32());
      if (!r.ok || r.left != 0) { why = "malformed commit"; break; }
      auto& g = groups_[group];
      auto key = std::make_pair(std::move(topic), partition);
      auto it = g.find(key);
      if (it != g.end()) live_bytes_ -= commit_size(group, key.first, it->second);
      live_bytes_ += commit_size(group, key.first, v);
      g[std::move(key)] = std::move(v);
    } else if (type == f::kTypeTombstone) {
      r.u64();
      if (!r.ok || r.left != 0) { why = "malformed tombstone"; break; }
      if (auto it = groups_.find(group); it != groups_.end()) {
        for (auto& [k, v] : it->second) live_bytes_ -= commit_size(group, k.first, v);
        groups_.erase(it);
      }
    } else {
      why = "unknown record type";
      break;
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
  if (v.commit_time_ms == 0) v.commit_time_ms = now_ms();
  if (auto st = append(encode_commit(group, topic, partition, v)); !st) return st;
  auto git = groups_.find(group);
  if (git == groups_.end()) git = groups_.emplace(std::string(group), GroupOffsets{}).first;
  auto key = std::make_pair(std::string(topic), partition);
  auto it = git->second.find(key);
  if (it != git->second.end()) live_bytes_ -= commit_size(group, topic, it->second);
  live_bytes_ += commit_size(group, topic, v);
  git->second[std::move(key)] = std::move(v);
  if (should_compact()) {
    if (auto st = compact(); !st) {
      WLOG_WARN("group", "offsets file {}: compaction failed: {}", path_, st.error().message);
    }
  }
  return {};
}

status OffsetLog::delete_group(std::string_view group) {
  if (auto st = append(encode_tombstone(group)); !st) return st;
  if (auto it = groups_.find(group); it != groups_.end()) {
    for (auto& [k, v] : it->second) live_bytes_ -= commit_size(group, k.first, v);
    groups_.erase(it);
  }
  return {};
}

const GroupOffsets* OffsetLog::find(std::string_view group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

bool OffsetLog::should_compact() const {
  return file_bytes_ > opts_.compact_min_bytes &&
         file_bytes_ > uint64_t(opts_.compact_ratio) * live_bytes_;
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
  for (auto& [group, offsets] : groups_) {
    for (auto& [k, v] : offsets) {
      out += encode_commit(group, k.first, k.second, v);
      if (out.size() >= (1u << 20)) {
        if (auto st = write_all(fd, out, written, tmp); !st) return fail(st.error());
        written += out.size();
        out.clear();
      }
    }
  }
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
