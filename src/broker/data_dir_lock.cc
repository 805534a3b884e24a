#include "broker/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace wharf::broker {

result<DataDirLock> DataDirLock::acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return make_error(Errc::kIo, "cannot create data dir " + data_dir + ": " + ec.message());
  const std::string path = data_dir + "/" + kFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return make_error(Errc::kAlreadyExists, "data dir " + data_dir + " is in use by another process");
    }
    return make_error(Errc::kIo, "cannot lock " + path + ": " + std::strerror(err));
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace wharf::broker
