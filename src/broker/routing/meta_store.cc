#include "broker/routing/meta_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "base/crc32c.h"
#include "base/logging.h"

namespace wharf::broker::routing {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

Error io_error(const std::string& what) { return make_error(Errc::kIo, what + ": " + std::strerror(errno)); }

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = std::move(ss).str();
  return true;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

void fsync_dir(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

bool parse_hex32(std::string_view s, uint32_t* out) {
  if (s.size() != 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | uint32_t(d);
  }
  *out = v;
  return true;
}

// Parses one log line (without its LF); discarded json when invalid.
json parse_line(std::string_view line) {
  uint32_t crc;
  if (line.size() < 10 || line[8] != ' ' || !parse_hex32(line.substr(0, 8), &crc)) return json::value_t::discarded;
  std::string_view body = line.substr(9);
  if (crc32c(body.data(), body.size()) != crc) return json::value_t::discarded;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned())
    return json::value_t::discarded;
  return j;
}

}  // namespace

MetaStore::MetaStore(Options o) : opts_(std::move(o)) {}

MetaStore::~MetaStore() {
  stop();
  if (log_fd_ >= 0) ::close(log_fd_);
}

result<uint64_t> MetaStore::load(const ApplyFn& apply_snapshot, const ApplyFn& apply_record) {
  std::error_code ec;
  fs::create_directories(opts_.dir, ec);
  if (ec) return make_error(Errc::kIo, "create " + opts_.dir + ": " + ec.message());
  fs::remove(path("routing.json.tmp"), ec);

  uint64_t snap_seq = 0, last = 0;
  std::string text;
  if (read_file(path("routing.json"), &text)) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned())
      return make_error(Errc::kCorrupt, path("routing.json") + " is not a routing snapshot");
    snap_seq = last = j["seq"].get<uint64_t>();
    auto st = apply_snapshot(j);
    if (!st.ok()) return make_error(Errc::kCorrupt, path("routing.json") + ": " + st.error().message);
    snapshot_bytes_ = text.size();
  }

  std::string log;
  if (read_file(path("routing.log"), &log)) {
    size_t pos = 0, good_end = 0, bad_at = std::string::npos;
    while (pos < log.size()) {
      size_t nl = log.find('\n', pos);
      size_t end = nl == std::string::npos ? log.size() : nl;
      json j = nl == std::string::npos ? json(json::value_t::discarded)
                                       : parse_line(std::string_view(log).substr(pos, end - pos));
      if (j.is_discarded()) {
        if (bad_at == std::string::npos) bad_at = pos;
      } else {
        if (bad_at != std::string::npos)
          return make_error(Errc::kCorrupt, path("routing.log") + ": bad record at byte " + std::to_string(bad_at));
        uint64_t seq = j["seq"].get<uint64_t>();
        if (seq > last) {
          auto st = apply_record(j);
          if (!st.ok())
            return make_error(Errc::kCorrupt, path("routing.log") + ": record " + std::to_string(seq) + ": " +
                                                  st.error().message);
          last = seq;
        }
        good_end = end + 1;
      }
      pos = end + 1;
    }
    if (bad_at != std::string::npos) {
      WLOG_WARN("routing", "{}: cutting a torn record at byte {} (crash during a write)", path("routing.log"), bad_at);
      if (::truncate(path("routing.log").c_str(), off_t(good_end)) != 0) return io_error("truncate routing.log");
    }
    log_bytes_ = good_end;
  }
  (void)snap_seq;
  durable_seq_ = last;
  pending_seq_ = last;
  return last;
}

status MetaStore::start(std::function<Snapshot()> snapshot) {
  snapshot_fn_ = std::move(snapshot);
  std::string p = path("routing.log");
  log_fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd_ < 0) return io_error("open " + p);
  fsync_dir(opts_.dir);  // the log's directory entry is durable before any record relies on it
  std::lock_guard lk(mu_);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return {};
}

void MetaStore::stop() {
  {
    std::lock_guard lk(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lk(mu_);
  running_ = false;
}

void MetaStore::append(uint64_t seq, std::string_view body) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x ", crc32c(body.data(), body.size()));
  std::lock_guard lk(mu_);
  bool was_empty = pending_.empty();
  pending_.append(crc);
  pending_.append(body);
  pending_.push_back('\n');
  pending_seq_ = seq;
  if (was_empty) {
    deadline_ = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
    cv_.notify_one();
  }
}

status MetaStore::sync(uint64_t seq) {
  if (seq <= durable_seq()) return {};
  std::promise<status> p;
  auto f = p.get_future();
  sync_async(seq, [&p](status st) { p.set_value(std::move(st)); });
  return f.get();
}

void MetaStore::sync_async(uint64_t seq, std::function<void(status)> done) {
  {
    std::lock_guard lk(mu_);
    seq = std::min(seq, pending_seq_);
    if (seq > durable_seq_.load()) {
      if (!running_ || stop_) {
        // Fall through to the error below, outside the lock.
      } else {
        waiters_.emplace_back(seq, std::move(done));
        urgent_ = true;
        cv_.notify_one();
        return;
      }
    } else {
      seq = 0;
    }
  }
  if (seq == 0) done({});
  else done(make_error(Errc::kShuttingDown, "routing metadata store is not running"));
}

status MetaStore::write_log(const std::string& data) {
  if (!write_all(log_fd_, data.data(), data.size()) || ::fdatasync(log_fd_) != 0) {
    auto err = io_error("write " + path("routing.log"));
    // Cut any partial line so that the next good write does not follow a
    // bad one (which load() would call corruption).
    if (::ftruncate(log_fd_, off_t(log_bytes_.load())) != 0)
      WLOG_ERROR("routing", "cannot cut a failed write from {}: {}", path("routing.log"), std::strerror(errno));
    return err;
  }
  log_bytes_ += data.size();
  return {};
}

status MetaStore::write_snapshot(const Snapshot& s) {
  std::string tmp = path("routing.json.tmp"), dst = path("routing.json");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open " + tmp);
  bool ok = write_all(fd, s.text.data(), s.text.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), dst.c_str()) != 0) return io_error("write " + dst);
  fsync_dir(opts_.dir);
  // Records up to s.seq are in the snapshot; a crash before this truncate is
  // harmless because load() skips them.
  if (::ftruncate(log_fd_, 0) != 0 || ::fdatasync(log_fd_) != 0) return io_error("truncate " + path("routing.log"));
  log_bytes_ = 0;
  snapshot_bytes_ = s.text.size();
  ++snapshots_;
  return {};
}

void MetaStore::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    // Wait until a round is due: records whose deadline passed or that
    // someone waits for, waiters already satisfied, or stop.
    for (;;) {
      if (stop_) break;
      if (!pending_.empty() && (urgent_ || Clock::now() >= deadline_)) break;
      if (pending_.empty() && !waiters_.empty()) break;
      if (pending_.empty()) cv_.wait(lk);
      else cv_.wait_until(lk, deadline_);
    }
    std::string data;
    data.swap(pending_);
    uint64_t upto = pending_seq_;
    urgent_ = false;
    const bool stopping = stop_;
    lk.unlock();

    status st = data.empty() ? status{} : write_log(data);
    uint64_t durable = st.ok() ? upto : 0;
    if (st.ok() && !stopping && snapshot_fn_ && log_bytes_ > std::max(opts_.compact_min_bytes, snapshot_bytes_)) {
      Snapshot snap = snapshot_fn_();
      auto s2 = write_snapshot(snap);
      if (s2.ok()) durable = std::max(durable, snap.seq);
      else WLOG_WARN("routing", "snapshot failed, keeping the log: {}", s2.error().message);
    }
    if (!st.ok()) WLOG_ERROR("routing", "metadata write failed, will retry: {}", st.error().message);

    lk.lock();
    if (st.ok()) {
      if (durable > durable_seq_.load()) durable_seq_.store(durable, std::memory_order_release);
    } else {
      pending_.insert(0, data);  // retried first; order kept
      deadline_ = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
    }
    std::vector<std::pair<std::function<void(status)>, status>> ready;
    const bool exiting = stopping && (pending_.empty() || !st.ok());
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->first <= durable_seq_.load()) ready.emplace_back(std::move(it->second), status{});
      else if (!st.ok() && it->first <= upto) ready.emplace_back(std::move(it->second), st);
      else if (exiting)
        ready.emplace_back(std::move(it->second), make_error(Errc::kShuttingDown, "routing metadata store stopped"));
      else {
        ++it;
        continue;
      }
      it = waiters_.erase(it);
    }
    lk.unlock();
    for (auto& [fn, s] : ready) fn(std::move(s));
    lk.lock();
    if (exiting) return;
  }
}

}  // namespace wharf::broker::routing
