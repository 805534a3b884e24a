// DataDirLock: proof that this process owns a data directory.
//
// The broker holds it for as long as it runs; the offline administration
// commands (`wharf user ...`, src/app/admin_cli.cc) take the same lock, so
// metadata is never edited under a running broker and two brokers never
// share a directory. The lock is flock(LOCK_EX) on <data_dir>/.lock: the
// kernel drops it when the process dies, so a crashed broker never leaves a
// stale lock behind.
//
// Ownership: movable, not copyable; the lock is held until destruction.
#pragma once

#include <string>

#include "base/result.h"

namespace wharf::broker {

class DataDirLock {
 public:
  static constexpr const char* kFileName = ".lock";

  // Creates the directory if needed and takes the lock without waiting.
  // kAlreadyExists when another process holds it ("data dir D is in use by
  // another process"), kIo when the directory or the file cannot be made.
  static result<DataDirLock> acquire(const std::string& data_dir);

  DataDirLock() = default;
  DataDirLock(DataDirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& o) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  bool held() const { return fd_ >= 0; }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace wharf::broker
