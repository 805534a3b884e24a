// Env: the file-system calls storage makes, behind an interface (LevelDB's
// Env). PosixEnv is the real one; FaultInjectionEnv wraps it for tests that
// need failing writes/syncs or a simulated power cut.
//
// Errors are values: every call returns status/result<T> with Errc::kIo and
// the errno text naming the path. No exceptions.
//
// Thread rules: Env objects are thread-safe. A File is used by one owner
// thread, except sync() (fdatasync), which may run on any thread concurrently
// with the owner's append() — the kernel allows it and File keeps no state
// that sync() touches (FaultInjectionEnv guards its bookkeeping with a mutex).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace wharf::storage {

// An open file. Closing happens in close() or the destructor, so a
// shared_ptr<File> keeps the descriptor valid for sendfile() readers even
// after the path was unlinked (retention).
class File {
 public:
  virtual ~File() = default;

  virtual int fd() const = 0;
  virtual const std::string& path() const = 0;

  // Appends all of `data` at the end of the file (one write(2) unless the
  // kernel writes short). On failure the file may hold a partial write; the
  // caller truncates back.
  virtual status append(std::span<const uint8_t> data) = 0;
  // Appends several buffers with one writev(2).
  virtual status appendv(std::span<const iovec> iov) = 0;
  // Reads up to out.size() bytes at `pos`; returns bytes read (short at EOF).
  virtual result<size_t> pread(uint64_t pos, std::span<uint8_t> out) const = 0;
  virtual result<uint64_t> size() const = 0;
  virtual status truncate(uint64_t size) = 0;
  // fdatasync(2). Safe to call from any thread while the owner appends.
  virtual status sync() = 0;
  // Makes every file in `files` (this one among them) durable. The default
  // fdatasyncs each. The POSIX file, past kSyncManyThreshold files, calls
  // syncfs(2) once instead: the filesystem writes back all dirty files and
  // flushes the device once, where one fdatasync per file would write each
  // inode and flush the device once per file (10,000 partitions: 10,000
  // flushes a round). REQUIRES: all files are on this file's filesystem
  // (they are all under one data dir).
  virtual status sync_many(std::span<const std::shared_ptr<File>> files);
  static constexpr size_t kSyncManyThreshold = 64;
  virtual status close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment; never destroyed.
  static Env* posix();

  // Opens `path` for appending, creating it if missing. Reads are allowed too.
  virtual result<std::shared_ptr<File>> open_append(const std::string& path) = 0;
  // Opens an existing file read-only.
  virtual result<std::shared_ptr<File>> open_read(const std::string& path) = 0;

  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  virtual status create_dir(const std::string& dir) = 0;  // recursive, ok if it exists
  virtual status remove_file(const std::string& path) = 0;
  virtual status remove_dir_recursive(const std::string& dir) = 0;  // ok if missing
  virtual status rename(const std::string& from, const std::string& to) = 0;
  virtual bool exists(const std::string& path) = 0;
  // Modification time in ms since the epoch.
  virtual result<int64_t> mtime_ms(const std::string& path) = 0;
  // Wall clock in ms since the epoch.
  virtual int64_t now_ms() = 0;
};

// Wraps another Env (normally Env::posix()). Tracks, for every file opened for
// append through it, how many bytes were fdatasync'ed; can fail writes or
// syncs on demand and can simulate a crash by cutting every tracked file back
// to its last synced size. The wrapped Env must outlive it.
class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  void set_fail_writes(bool on);
  void set_fail_syncs(bool on);
  // Simulated power cut: truncates every tracked file to the size it had at
  // its last successful sync (0 if created and never synced). Call after the
  // owners of the files are gone (or no longer write).
  status drop_unsynced_data();
  uint64_t sync_count() const;

  result<std::shared_ptr<File>> open_append(const std::string& path) override;
  result<std::shared_ptr<File>> open_read(const std::string& path) override;
  result<std::vector<std::string>> list_dir(const std::string& dir) override;
  status create_dir(const std::string& dir) override;
  status remove_file(const std::string& path) override;
  status remove_dir_recursive(const std::string& dir) override;
  status rename(const std::string& from, const std::string& to) override;
  bool exists(const std::string& path) override;
  result<int64_t> mtime_ms(const std::string& path) override;
  int64_t now_ms() override;

  // Bookkeeping shared with the files it hands out.
  struct State;

 private:
  Env* base_;
  std::shared_ptr<State> state_;
};

}  // namespace wharf::storage
