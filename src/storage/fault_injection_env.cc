// FaultInjectionEnv: see env.h. For tests only; not on any hot path.
#include <fmt/format.h>

#include "storage/env.h"

namespace wharf::storage {

struct FaultInjectionEnv::State {
  mutable std::mutex mu;
  bool fail_writes = false;
  bool fail_syncs = false;
  uint64_t syncs = 0;
  std::map<std::string, uint64_t> synced_size;  // path -> size at last good sync
};

namespace {

class FaultFile final : public File {
 public:
  FaultFile(std::shared_ptr<File> base, std::shared_ptr<FaultInjectionEnv::State> st)
      : base_(std::move(base)), st_(std::move(st)) {}

  int fd() const override { return base_->fd(); }
  const std::string& path() const override { return base_->path(); }

  status append(std::span<const uint8_t> data) override {
    if (failing_writes()) return make_error(Errc::kIo, fmt::format("write {}: injected fault", path()));
    return base_->append(data);
  }
  status appendv(std::span<const iovec> iov) override {
    if (failing_writes()) return make_error(Errc::kIo, fmt::format("writev {}: injected fault", path()));
    return base_->appendv(iov);
  }
  result<size_t> pread(uint64_t pos, std::span<uint8_t> out) const override { return base_->pread(pos, out); }
  result<uint64_t> size() const override { return base_->size(); }
  status truncate(uint64_t size) override {
    if (failing_writes()) return make_error(Errc::kIo, fmt::format("ftruncate {}: injected fault", path()));
    auto s = base_->truncate(size);
    if (s.ok()) {
      std::lock_guard lk(st_->mu);
      auto it = st_->synced_size.find(path());
      if (it != st_->synced_size.end() && it->second > size) it->second = size;
    }
    return s;
  }
  status sync() override {
    {
      std::lock_guard lk(st_->mu);
      if (st_->fail_syncs) return make_error(Errc::kIo, fmt::format("fdatasync {}: injected fault", path()));
    }
    // Bytes present before the call are durable once it returns.
    auto sz = base_->size();
    if (!sz.ok()) return sz.error();
    auto s = base_->sync();
    if (!s.ok()) return s;
    std::lock_guard lk(st_->mu);
    st_->syncs++;
    auto& v = st_->synced_size[path()];
    if (*sz > v) v = *sz;
    return {};
  }
  status close() override { return base_->close(); }

 private:
  bool failing_writes() const {
    std::lock_guard lk(st_->mu);
    return st_->fail_writes;
  }
  std::shared_ptr<File> base_;
  std::shared_ptr<FaultInjectionEnv::State> st_;
};

}  // namespace

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base), state_(std::make_shared<State>()) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::set_fail_writes(bool on) {
  std::lock_guard lk(state_->mu);
  state_->fail_writes = on;
}
void FaultInjectionEnv::set_fail_syncs(bool on) {
  std::lock_guard lk(state_->mu);
  state_->fail_syncs = on;
}
uint64_t FaultInjectionEnv::sync_count() const {
  std::lock_guard lk(state_->mu);
  return state_->syncs;
}

status FaultInjectionEnv::drop_unsynced_data() {
  std::map<std::string, uint64_t> sizes;
  {
    std::lock_guard lk(state_->mu);
    sizes = state_->synced_size;
  }
  for (auto& [path, synced] : sizes) {
    if (!base_->exists(path)) continue;
    auto f = base_->open_append(path);
    if (!f.ok()) return f.error();
    auto sz = (*f)->size();
    if (!sz.ok()) return sz.error();
    if (*sz > synced) {
      auto s = (*f)->truncate(synced);
      if (!s.ok()) return s;
    }
  }
  return {};
}

result<std::shared_ptr<File>> FaultInjectionEnv::open_append(const std::string& path) {
  bool existed = base_->exists(path);
  auto f = base_->open_append(path);
  if (!f.ok()) return f.error();
  {
    std::lock_guard lk(state_->mu);
    if (!state_->synced_size.count(path)) {
      // A file that was already there counts as durable as it is.
      uint64_t sz = 0;
      if (existed) {
        auto r = (*f)->size();
        if (r.ok()) sz = *r;
      }
      state_->synced_size[path] = sz;
    }
  }
  return std::shared_ptr<File>(std::make_shared<FaultFile>(std::move(*f), state_));
}

result<std::shared_ptr<File>> FaultInjectionEnv::open_read(const std::string& path) {
  auto f = base_->open_read(path);
  if (!f.ok()) return f.error();
  return std::shared_ptr<File>(std::make_shared<FaultFile>(std::move(*f), state_));
}

result<std::vector<std::string>> FaultInjectionEnv::list_dir(const std::string& dir) {
  return base_->list_dir(dir);
}
status FaultInjectionEnv::create_dir(const std::string& dir) { return base_->create_dir(dir); }

status FaultInjectionEnv::remove_file(const std::string& path) {
  auto s = base_->remove_file(path);
  if (s.ok()) {
    std::lock_guard lk(state_->mu);
    state_->synced_size.erase(path);
  }
  return s;
}

status FaultInjectionEnv::remove_dir_recursive(const std::string& dir) {
  auto s = base_->remove_dir_recursive(dir);
  if (s.ok()) {
    std::lock_guard lk(state_->mu);
    std::string prefix = dir + "/";
    for (auto it = state_->synced_size.begin(); it != state_->synced_size.end();) {
      it = it->first.starts_with(prefix) ? state_->synced_size.erase(it) : std::next(it);
    }
  }
  return s;
}

status FaultInjectionEnv::rename(const std::string& from, const std::string& to) {
  auto s = base_->rename(from, to);
  if (s.ok()) {
    std::lock_guard lk(state_->mu);
    auto it = state_->synced_size.find(from);
    if (it != state_->synced_size.end()) {
      state_->synced_size[to] = it->second;
      state_->synced_size.erase(it);
    }
  }
  return s;
}

bool FaultInjectionEnv::exists(const std::string& path) { return base_->exists(path); }
result<int64_t> FaultInjectionEnv::mtime_ms(const std::string& path) { return base_->mtime_ms(path); }
int64_t FaultInjectionEnv::now_ms() { return base_->now_ms(); }

}  // namespace wharf::storage
