// ReadCache: a bounded window of one priority level's log in memory, so that
// delivering a backlog costs one read(2) per window (64 KiB by default), not
// one per message, and a consumer keeping up with publishers is served from
// the bytes just appended, without reading them back.
//
// Invariants: the buffer holds whole batches with offsets in [from_, to_);
// records_ are sorted by offset. The buffer's capacity is reserved when it is
// created and never exceeded, so appending never moves bytes that Bodies
// handed out still alias. A new buffer replaces the old one on reload; the
// old one lives on while a Body references it.
//
// Memory: at most one window per level plus the windows still referenced by
// delivered Bodies (released once the front end has written them out).
//
// Thread rules: owned by the queue's shard thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "broker/queue/message_codec.h"
#include "storage/log.h"

namespace wharf::broker::queue {

class ReadCache {
 public:
  explicit ReadCache(size_t window_bytes) : window_(window_bytes) {}

  // The first record with offset >= `offset`, reading a window from `log`
  // when it is not buffered; nullptr when the log has no such record.
  // Batches failing their CRC are skipped with an error log (their offsets
  // read as missing). The pointer is valid until the next call.
  result<const RecordRef*> find(const storage::Log& log, int64_t offset);

  // Called after `batch` was appended to the log at `offset`. Buffers it when
  // it continues the window and fits, or, when `fresh` (the reader is caught
  // up), starts a new window with it.
  void on_append(int64_t offset, std::span<const uint8_t> batch, bool fresh);

  // Keeps the buffer (and the bodies in it) alive for a delivered Body.
  std::shared_ptr<const void> owner() const { return buf_; }

  void clear();
  size_t buffered_bytes() const { return buf_ ? buf_->size() : 0; }
  uint64_t reads() const { return reads_; }  // windows read from the log, for tests

 private:
  status load(const storage::Log& log, int64_t offset);
  // Parses whole batches of buf_ from byte `pos`; sets to_.
  void index_from(size_t pos);

  size_t window_;
  std::shared_ptr<std::vector<uint8_t>> buf_;
  std::vector<RecordRef> records_;
  int64_t from_ = 0, to_ = 0;
  uint64_t reads_ = 0;
};

}  // namespace wharf::broker::queue
