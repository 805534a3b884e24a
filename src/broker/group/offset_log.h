// OffsetLog: the durable committed offsets of the groups in one bucket, kept
// as an append-only file <dir>/<bucket>.log plus an in-memory map of the
// latest value per (group, topic, partition).
//
// File format (all integers big-endian). The file is a sequence of records:
//
//   +0   u32  crc     CRC-32C (base/crc32c.h) of bytes [+4, +9+len): len, type, payload
//   +4   u32  len     payload length in bytes, <= kMaxPayload
//   +8   u8   type    1 = offset commit, 2 = group tombstone
//   +9   len  payload
//
//   commit payload (type 1):                 tombstone payload (type 2):
//     u16  group_len | group bytes             u16  group_len | group bytes
//     u16  topic_len | topic bytes             i64  delete_time_ms
//     i32  partition
//     i64  offset
//     i32  leader_epoch (-1 = none)
//     i64  commit_time_ms (unix epoch)
//     u32  metadata_len | metadata bytes
//
// A later record for the same key replaces an earlier one; a tombstone drops
// every earlier commit of its group. Replay stops at the first record that is
// short, oversized, of unknown type or fails its CRC; the file is truncated
// there with a warning (a torn tail from a crash, or corruption: everything
// after it is lost). Compaction rewrites only the live records to
// <bucket>.log.tmp, fdatasyncs it and renames it over the log.
//
// Durability: put()/delete_group() return after write(2) (page cache: survives
// kill -9). fdatasync is done by OffsetFlusher on its own thread within the
// flush interval, or by sync(). The fd is shared with it through SyncSlot.
//
// Thread rules: every method runs on the owning shard's thread; only the
// SyncSlot is touched by the flusher thread (see offset_flusher.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "broker/group/offset_flusher.h"

namespace wharf::broker::group {

namespace offset_format {
inline constexpr size_t kHeaderSize = 9;               // crc + len + type
inline constexpr size_t kCommitFixedSize = 2 + 2 + 4 + 8 + 4 + 8 + 4;
inline constexpr size_t kTombstoneFixedSize = 2 + 8;
inline constexpr uint32_t kMaxPayload = 1u << 24;      // sanity bound on replay
inline constexpr uint8_t kTypeCommit = 1;
inline constexpr uint8_t kTypeTombstone = 2;
static_assert(kHeaderSize == sizeof(uint32_t) + sizeof(uint32_t) + sizeof(uint8_t));
static_assert(kCommitFixedSize == 32);
static_assert(kTombstoneFixedSize == 10);
}  // namespace offset_format

struct OffsetValue {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_time_ms = 0;
};

// (topic, partition) -> latest committed value, ordered for stable output.
using GroupOffsets = std::map<std::pair<std::string, int32_t>, OffsetValue>;

struct OffsetLogOptions {
  uint64_t compact_min_bytes = 1u << 20;
  uint32_t compact_ratio = 4;
};

class OffsetLog {
 public:
  // Opens or creates <dir>/<bucket>.log (dir must exist) and replays it.
  static result<std::unique_ptr<OffsetLog>> open(const std::string& dir, uint32_t bucket,
                                                 OffsetLogOptions opts = {});
  ~OffsetLog();  // closes the file; does not fdatasync (the flusher or sync() does)
  OffsetLog(const OffsetLog&) = delete;
  OffsetLog& operator=(const OffsetLog&) = delete;

  // Appends a commit and updates the map. On error the file is cut back to
  // its previous length and the map is unchanged. May compact afterwards.
  // REQUIRES: group.size(), topic.size() <= 65535.
  status put(std::string_view group, std::string_view topic, int32_t partition, OffsetValue v);
  // Appends a tombstone and forgets every offset of the group.
  status delete_group(std::string_view group);

  const GroupOffsets* find(std::string_view group) const;
  const std::map<std::string, GroupOffsets, std::less<>>& groups() const { return groups_; }

  status compact();  // rewrite live records; normally triggered by put()
  status sync();     // fdatasync now, on the calling thread

  const std::shared_ptr<SyncSlot>& sync_slot() const { return slot_; }
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t live_bytes() const { return live_bytes_; }
  const std::string& path() const { return path_; }

 private:
  OffsetLog(std::string dir, uint32_t bucket, OffsetLogOptions opts);
  status replay();
  status append(const std::string& record);
  bool should_compact() const;

  std::string dir_;
  std::string path_;
  OffsetLogOptions opts_;
  std::shared_ptr<SyncSlot> slot_;  // owns the fd
  uint64_t file_bytes_ = 0;         // == file length; next write goes here
  uint64_t live_bytes_ = 0;         // encoded size of the records in groups_
  std::map<std::string, GroupOffsets, std::less<>> groups_;
};

}  // namespace wharf::broker::group
