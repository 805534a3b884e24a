// OffsetLog: the durable state of the consumer groups in one bucket, kept as
// an append-only file <dir>/<bucket>.log plus in-memory maps of the latest
// committed offset per (group, topic, partition) and the latest metadata per
// group (group_metadata.h).
//
// File format (all integers big-endian). The file is a sequence of records:
//
//   +0   u32  crc     CRC-32C (base/crc32c.h) of bytes [+4, +9+len): len, type, payload
//   +4   u32  len     payload length in bytes, <= kMaxPayload
//   +8   u8   type    1 = offset commit or group metadata, 2 = group tombstone or marker
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
//   group metadata payload (type 1 with group_len 0), field by field the
//   commit layout, so that it is one:
//     u16  0                                 no group is named "": requests with it are refused
//     u16  group_len | group bytes           in the commit's topic field
//     i32  value version (0)                 in the partition field
//     i64  -1                                in the offset field
//     i32  -1                                in the leader_epoch field
//     i64  write_time_ms (unix epoch)        in the commit_time_ms field
//     u32  value_len | value                 in the metadata field: GroupMetadata, group_metadata.h
//   Every metadata record is followed, in the same write(2), by a marker: a
//   tombstone (type 2) with group_len 0.
//
// Why metadata looks like a commit: brokers before group metadata existed
// (offsets-only files) stop replay at the first record of an unknown type and
// truncate the file there, which would drop every later commit. They read a
// metadata record as a commit of group "" and the marker as the deletion of
// group "", so to them both are invisible and lose nothing; their compaction
// drops the metadata (as if it was never written). An offsets-only file is a
// valid file of this format.
//
// Replay: a later record for the same key replaces an earlier one; a
// tombstone drops every earlier commit and the metadata of its group. A
// metadata record of an unknown value version (from a newer broker) drops the
// group's metadata and is otherwise skipped: the group comes back with only
// its offsets. Record types with bit 0x80 set are optional: skipped if
// unknown. Any other unknown type fails open() and leaves the file alone (a
// file of a newer broker that must not be cut). Replay stops at the first
// record that is short, oversized, malformed or fails its CRC; the file is
// truncated there with a warning (a torn tail from a crash, or corruption:
// everything after it is lost). Compaction rewrites only the live records
// (commits, the latest metadata per group, one marker) to <bucket>.log.tmp,
// fdatasyncs it and renames it over the log; deleted groups leave nothing.
//
// Durability: put(), put_group() and delete_group() return after write(2)
// (page cache: survives kill -9). fdatasync is done by OffsetFlusher on its own
// thread within the flush interval, or by sync(). The fd is shared with it
// through SyncSlot.
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
#include "broker/group/group_metadata.h"
#include "broker/group/offset_flusher.h"

namespace wharf::broker::group {

namespace offset_format {
inline constexpr size_t kHeaderSize = 9;               // crc + len + type
inline constexpr size_t kCommitFixedSize = 2 + 2 + 4 + 8 + 4 + 8 + 4;
inline constexpr size_t kTombstoneFixedSize = 2 + 8;
inline constexpr uint32_t kMaxPayload = 1u << 24;      // sanity bound on replay; writers check it
inline constexpr uint8_t kTypeCommit = 1;              // also group metadata (empty group)
inline constexpr uint8_t kTypeTombstone = 2;           // also the marker (empty group)
inline constexpr uint8_t kTypeOptionalBit = 0x80;      // unknown types with it are skipped
// A group metadata record is a commit record whose metadata field is the value.
inline constexpr size_t kGroupMetadataFixedSize = kCommitFixedSize;
inline constexpr size_t kMarkerSize = kHeaderSize + kTombstoneFixedSize;  // whole record
static_assert(kHeaderSize == sizeof(uint32_t) + sizeof(uint32_t) + sizeof(uint8_t));
static_assert(kCommitFixedSize == 32);
static_assert(kTombstoneFixedSize == 10);
static_assert(kMarkerSize == 19);
static_assert((kTypeCommit & kTypeOptionalBit) == 0 && (kTypeTombstone & kTypeOptionalBit) == 0);
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
  // REQUIRES: group non-empty; group.size(), topic.size() <= 65535.
  status put(std::string_view group, std::string_view topic, int32_t partition, OffsetValue v);
  // Appends a group metadata record (and its marker) replacing the group's
  // previous metadata; same error contract as put(). kMessageTooLarge if the
  // record would exceed kMaxPayload (nothing is written).
  // REQUIRES: group non-empty, group.size() <= 65535.
  status put_group(std::string_view group, const GroupMetadata& md);
  // Appends a tombstone and forgets every offset and the metadata of the group.
  status delete_group(std::string_view group);

  const GroupOffsets* find(std::string_view group) const;
  const std::map<std::string, GroupOffsets, std::less<>>& groups() const { return groups_; }
  const GroupMetadata* find_metadata(std::string_view group) const;
  const std::map<std::string, GroupMetadata, std::less<>>& group_metadata() const {
    return metadata_;
  }

  status compact();  // rewrite live records; normally triggered by put()
  status sync();     // fdatasync now, on the calling thread

  const std::shared_ptr<SyncSlot>& sync_slot() const { return slot_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // Size a compaction would write now: the live records plus one marker.
  uint64_t live_bytes() const;
  const std::string& path() const { return path_; }

 private:
  OffsetLog(std::string dir, uint32_t bucket, OffsetLogOptions opts);
  status replay();
  // Applies one group metadata record met at byte `pos` during replay; an
  // error means the record is malformed (replay stops there).
  status replay_metadata(std::string group, int32_t version, const std::string& value, size_t pos);
  status append(const std::string& record);
  bool should_compact() const;
  void maybe_compact();
  void forget_group(std::string_view group);  // drops offsets and metadata from the maps

  std::string dir_;
  std::string path_;
  OffsetLogOptions opts_;
  std::shared_ptr<SyncSlot> slot_;  // owns the fd
  uint64_t file_bytes_ = 0;         // == file length; next write goes here
  uint64_t live_bytes_ = 0;         // encoded size of the records in groups_ and metadata_
  std::map<std::string, GroupOffsets, std::less<>> groups_;
  std::map<std::string, GroupMetadata, std::less<>> metadata_;
};

}  // namespace wharf::broker::group
