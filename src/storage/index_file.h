// IndexFile<E>: a sorted, append-only array of fixed-size entries kept in
// memory and mirrored to a plain file by appending (no mmap, no
// preallocation). New entries are buffered and written in one append by
// write_pending() (the log calls it from begin_flush(), on roll and on
// close), so the hot path makes no index syscalls. The file is opened only
// while it is written or synced, so a partition costs one descriptor (its
// .log) and 10,000 partitions fit in an ordinary fd limit. The file is a hint: on
// recovery the entries are checked against the .log and the tail rebuilt, so
// index files are fdatasync'ed only when their segment is rolled or closed.
//
// E provides: static constexpr size_t kSize; void encode(uint8_t*) const;
// static E decode(const uint8_t*).
//
// Thread rules: owned by the Log's owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/env.h"

namespace wharf::storage {

template <class E>
class IndexFile {
 public:
  const std::vector<E>& entries() const { return entries_; }
  std::vector<E>& mutable_entries() { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const E& back() const { return entries_.back(); }

  void push_back(const E& e) { entries_.push_back(e); }

  // Reads every whole entry of `path` (missing file: none). The caller
  // validates and cuts with truncate_to().
  status load(Env* env, const std::string& path) {
    entries_.clear();
    persisted_ = 0;
    if (!env->exists(path)) return {};
    auto f = env->open_read(path);
    if (!f.ok()) return f.error();
    auto sz = (*f)->size();
    if (!sz.ok()) return sz.error();
    std::vector<uint8_t> buf(*sz - *sz % E::kSize);
    auto n = (*f)->pread(0, buf);
    if (!n.ok()) return n.error();
    size_t count = *n / E::kSize;
    entries_.reserve(count);
    for (size_t i = 0; i < count; i++) entries_.push_back(E::decode(buf.data() + i * E::kSize));
    persisted_ = count;
    file_bytes_ = *sz;
    return {};
  }

  // Makes this the index of the active segment: later write_pending() calls
  // append to `path`. Cuts the file to the persisted entries (drops a partial
  // trailing entry and anything truncate_to() removed).
  status open_for_append(Env* env, const std::string& path) {
    env_ = env;
    path_ = path;
    auto f = env->open_append(path);
    if (!f.ok()) return f.error();
    auto sz = (*f)->size();
    if (!sz.ok()) return sz.error();
    if (*sz != persisted_ * E::kSize) {
      auto s = (*f)->truncate(persisted_ * E::kSize);
      if (!s.ok()) return s;
    }
    return (*f)->close();
  }

  // Keeps the first n entries, in memory and (lazily, at open_for_append or
  // now if open) on disk.
  status truncate_to(size_t n) {
    if (n >= entries_.size()) return {};
    entries_.resize(n);
    if (persisted_ > n) {
      persisted_ = n;
      if (env_) {
        auto f = env_->open_append(path_);
        if (!f.ok()) return f.error();
        return (*f)->truncate(n * E::kSize);
      }
    }
    return {};
  }

  // Appends the buffered entries to the file with one write. No-op if none or
  // if this is not the active segment's index.
  status write_pending() {
    if (!env_ || persisted_ >= entries_.size()) return {};
    auto f = env_->open_append(path_);
    if (!f.ok()) return f.error();
    scratch_.resize((entries_.size() - persisted_) * E::kSize);
    for (size_t i = persisted_, j = 0; i < entries_.size(); i++, j++) entries_[i].encode(scratch_.data() + j * E::kSize);
    auto s = (*f)->append(scratch_);
    if (!s.ok()) {
      // Cut the possibly partial write; entries stay buffered for a retry.
      (void)(*f)->truncate(persisted_ * E::kSize);
      return s;
    }
    persisted_ = entries_.size();
    return (*f)->close();
  }

  // A fresh handle on the active index file, for a flush job to fdatasync
  // (a sync covers earlier writes made through other descriptors); nullptr
  // if this is not the active segment's index.
  std::shared_ptr<File> file() const {
    if (!env_) return nullptr;
    auto f = env_->open_append(path_);
    return f.ok() ? std::shared_ptr<File>(std::move(*f)) : nullptr;
  }
  // Same, and stops being the active index (segment rolled or closed).
  std::shared_ptr<File> release_file() {
    auto f = file();
    env_ = nullptr;
    return f;
  }

 private:
  std::vector<E> entries_;
  size_t persisted_ = 0;  // entries_[0, persisted_) are in the file
  uint64_t file_bytes_ = 0;
  Env* env_ = nullptr;  // set only for the active segment's index
  std::string path_;
  std::vector<uint8_t> scratch_;
};

}  // namespace wharf::storage
