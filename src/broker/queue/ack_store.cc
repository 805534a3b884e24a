#include "broker/queue/ack_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/crc32c.h"
#include "base/endian.h"
#include "base/logging.h"

namespace wharf::broker::queue {

namespace f = ack_format;

namespace {

void frame(std::string& out, uint8_t type, const uint8_t* payload, uint32_t len) {
  size_t at = out.size();
  out.resize(at + f::kHeaderSize + len);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
  store_be32(p + 4, len);
  p[8] = type;
  std::memcpy(p + f::kHeaderSize, payload, len);
  store_be32(p, crc32c(p + 4, f::kHeaderSize - 4 + len));
}

status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::kIo, fmt::format("open dir {}: {}", dir, std::strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return make_error(Errc::kIo, fmt::format("fsync dir {}: {}", dir, std::strerror(err)));
  return {};
}

}  // namespace

AckStore::AckStore(storage::Env* env, std::string dir) : env_(env), dir_(std::move(dir)), path_(dir_ + "/acks.log") {}

void AckStore::append_settle(std::string& out, uint8_t level, int64_t from, int64_t to) {
  uint8_t p[f::kSettleLen];
  p[0] = level;
  store_be64(p + 1, uint64_t(from));
  store_be64(p + 9, uint64_t(to));
  frame(out, f::kTypeSettle, p, f::kSettleLen);
}

void AckStore::append_cursor(std::string& out, uint8_t level, int64_t cursor) {
  uint8_t p[f::kCursorLen];
  p[0] = level;
  store_be64(p + 1, uint64_t(cursor));
  frame(out, f::kTypeCursor, p, f::kCursorLen);
}

result<std::unique_ptr<AckStore>> AckStore::open(storage::Env* env, const std::string& dir, AckState* state) {
  std::unique_ptr<AckStore> s(new AckStore(env, dir));
  std::string tmp = s->path_ + ".tmp";
  if (env->exists(tmp)) {
    if (auto r = env->remove_file(tmp); !r.ok()) return r.error();  // a compaction that did not finish
  }
  // A queue that never settled anything has no file and holds no
  // descriptor: 10,000 idle queues must not cost 10,000 open files.
  if (!env->exists(s->path_)) return s;
  auto file = env->open_append(s->path_);
  if (!file.ok()) return file.error();
  s->file_ = std::move(*file);
  if (auto r = s->replay(state); !r.ok()) return r.error();
  return s;
}

status AckStore::replay(AckState* state) {
  auto size = file_->size();
  if (!size.ok()) return size.error();
  std::vector<uint8_t> buf(*size);
  size_t got = 0;
  while (got < buf.size()) {
    auto n = file_->pread(got, std::span<uint8_t>(buf).subspan(got));
    if (!n.ok()) return n.error();
    if (*n == 0) break;
    got += *n;
  }
  buf.resize(got);
  size_t pos = 0;
  const char* why = nullptr;
  while (pos < buf.size()) {
    const uint8_t* p = buf.data() + pos;
    if (buf.size() - pos < f::kHeaderSize) { why = "short header"; break; }
    uint32_t crc = load_be32(p), len = load_be32(p + 4);
    uint8_t type = p[8];
    uint32_t want = type == f::kTypeSettle ? f::kSettleLen : type == f::kTypeCursor ? f::kCursorLen : 0;
    if (want == 0) { why = "unknown record type"; break; }
    if (len != want) { why = "bad record length"; break; }
    if (buf.size() - pos - f::kHeaderSize < len) { why = "short record"; break; }
    if (crc32c(p + 4, f::kHeaderSize - 4 + len) != crc) { why = "crc mismatch"; break; }
    const uint8_t* q = p + f::kHeaderSize;
    LevelAckState& ls = (*state)[q[0]];
    if (type == f::kTypeSettle) {
      ls.settled.insert(int64_t(load_be64(q + 1)), int64_t(load_be64(q + 9)));
    } else {
      ls.cursor = std::max(ls.cursor, int64_t(load_be64(q + 1)));
    }
    pos += f::kHeaderSize + len;
  }
  if (why) {
    WLOG_WARN("queue", "ack file {}: {} at byte {}; truncating {} bytes", path_, why, pos, buf.size() - pos);
    if (auto r = file_->truncate(pos); !r.ok()) return r;
    if (auto r = file_->sync(); !r.ok()) return r;
  }
  file_bytes_ = pos;
  return {};
}

void AckStore::settle(uint8_t level, int64_t from, int64_t to) {
  if (to <= from) return;
  if (!pending_settles_.empty()) {
    Range& last = pending_settles_.back();
    if (last.level == level && last.to == from) { last.to = to; return; }
    if (last.level == level && last.from == to) { last.from = from; return; }
  }
  pending_settles_.push_back(Range{level, from, to});
}

void AckStore::cursor(uint8_t level, int64_t c) { pending_cursors_[level] = c; }

status AckStore::write_pending() {
  if (!has_pending()) return {};
  buf_.clear();
  for (const auto& r : pending_settles_) append_settle(buf_, r.level, r.from, r.to);
  for (const auto& [level, c] : pending_cursors_) append_cursor(buf_, level, c);
  if (!file_) {
    if (auto st = env_->create_dir(dir_); !st.ok()) return st;  // the queue's folder is made lazily too
    auto f = env_->open_append(path_);
    if (!f.ok()) return f.error();
    file_ = std::move(*f);
    file_bytes_ = 0;
  }
  auto st = file_->append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size()));
  if (!st.ok()) {
    (void)file_->truncate(file_bytes_);  // no half record may stay; the error is reported either way
    return st;
  }
  file_bytes_ += buf_.size();
  unsynced_ = true;
  pending_settles_.clear();
  pending_cursors_.clear();
  return {};
}

std::shared_ptr<storage::File> AckStore::sync_file() {
  if (!unsynced_) return nullptr;
  unsynced_ = false;
  return file_;
}

bool AckStore::should_compact(size_t live_records) const {
  uint64_t live = uint64_t(live_records) * (f::kHeaderSize + f::kSettleLen);
  return file_bytes_ >= f::kCompactMinBytes && file_bytes_ >= live * f::kCompactRatio;
}

status AckStore::compact(const AckState& state) {
  buf_.clear();
  for (const auto& [level, ls] : state) {
    append_cursor(buf_, level, ls.cursor);
    ls.settled.for_each([&](int64_t a, int64_t b) { append_settle(buf_, level, a, b); });
  }
  std::string tmp = path_ + ".tmp";
  if (env_->exists(tmp)) {
    if (auto r = env_->remove_file(tmp); !r.ok()) return r;
  }
  {
    auto t = env_->open_append(tmp);
    if (!t.ok()) return t.error();
    auto& tf = *t;
    if (auto r = tf->append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size()));
        !r.ok()) return r;
    if (auto r = tf->sync(); !r.ok()) return r;
    (void)tf->close();
  }
  if (auto r = env_->rename(tmp, path_); !r.ok()) return r;
  if (auto r = fsync_dir(dir_); !r.ok()) return r;
  // Reopen by the final name, so later syncs are accounted to it.
  auto nf = env_->open_append(path_);
  if (!nf.ok()) return nf.error();
  file_ = std::move(*nf);
  file_bytes_ = buf_.size();
  unsynced_ = false;
  pending_settles_.clear();
  pending_cursors_.clear();
  return {};
}

}  // namespace wharf::broker::queue
