// PosixEnv: Env over plain POSIX calls.
#include "storage/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace wharf::storage {

status File::sync_many(std::span<const std::shared_ptr<File>> files) {
  for (const auto& f : files) {
    auto s = f->sync();
    if (!s.ok()) return s;
  }
  return {};
}
namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(Errc::kIo, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }

  status append(std::span<const uint8_t> data) override {
    const uint8_t* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("write", path_, errno);
      }
      p += n;
      left -= size_t(n);
    }
    return {};
  }

  status appendv(std::span<const iovec> iov_in) override {
    // Copy only when the kernel writes short and we must advance the vector.
    const iovec* iov = iov_in.data();
    int cnt = int(iov_in.size());
    std::vector<iovec> rest;
    while (cnt > 0) {
      ssize_t n = ::writev(fd_, iov, std::min(cnt, IOV_MAX));
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("writev", path_, errno);
      }
      size_t done = size_t(n);
      if (rest.empty()) rest.assign(iov, iov + cnt);
      size_t i = 0;
      while (i < rest.size() && done >= rest[i].iov_len) done -= rest[i++].iov_len;
      rest.erase(rest.begin(), rest.begin() + long(i));
      if (!rest.empty() && done > 0) {
        rest[0].iov_base = static_cast<uint8_t*>(rest[0].iov_base) + done;
        rest[0].iov_len -= done;
      }
      iov = rest.data();
      cnt = int(rest.size());
    }
    return {};
  }

  result<size_t> pread(uint64_t pos, std::span<uint8_t> out) const override {
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, off_t(pos + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("pread", path_, errno);
      }
      if (n == 0) break;
      got += size_t(n);
    }
    return got;
  }

  result<uint64_t> size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return io_error("fstat", path_, errno);
    return uint64_t(st.st_size);
  }

  status truncate(uint64_t size) override {
    if (::ftruncate(fd_, off_t(size)) != 0) return io_error("ftruncate", path_, errno);
    return {};
  }

  status sync() override {
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
    return {};
  }

  status sync_many(std::span<const std::shared_ptr<File>> files) override {
    if (files.size() <= kSyncManyThreshold) return File::sync_many(files);
    if (::syncfs(fd_) != 0) return io_error("syncfs", path_, errno);
    return {};
  }

  status close() override {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return io_error("close", path_, errno);
    return {};
  }

 private:
  int fd_;
  std::string path_;
};

class PosixEnv final : public Env {
 public:
  result<std::shared_ptr<File>> open_append(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("open", path, errno);
    return std::shared_ptr<File>(std::make_shared<PosixFile>(fd, path));
  }

  result<std::shared_ptr<File>> open_read(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open", path, errno);
    return std::shared_ptr<File>(std::make_shared<PosixFile>(fd, path));
  }

  result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return io_error("opendir", dir, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    return names;
  }

  status create_dir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(Errc::kIo, fmt::format("mkdir {}: {}", dir, ec.message()));
    return {};
  }

  status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
    return {};
  }

  status remove_dir_recursive(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return make_error(Errc::kIo, fmt::format("rm -r {}: {}", dir, ec.message()));
    return {};
  }

  status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return io_error("rename", from + " -> " + to, errno);
    return {};
  }

  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  result<int64_t> mtime_ms(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return io_error("stat", path, errno);
    return int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }

  int64_t now_ms() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace

Env* Env::posix() {
  static PosixEnv* env = new PosixEnv();  // never destroyed: usable during exit
  return env;
}

}  // namespace wharf::storage
