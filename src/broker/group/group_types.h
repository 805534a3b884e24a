// Protocol-neutral request/result types of the consumer-group coordinator.
// The Kafka front end maps its wire structs onto these (and GroupError onto
// Kafka error codes by cast); nothing here knows about the wire format.
// Byte strings (protocol metadata, assignments) are held in std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/group/group_error.h"

namespace wharf::broker::group {

// Committed offsets live in this many buckets (files); a group belongs to
// bucket group_bucket(id) and the broker maps bucket -> shard as bucket % nshards.
inline constexpr uint32_t kOffsetBuckets = 16;

// Every tunable of the coordinator, with Kafka's defaults.
struct GroupConfig {
  int32_t min_session_timeout_ms = 6000;           // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;        // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;       // group.initial.rebalance.delay.ms
  int32_t max_group_size = 0x7fffffff;             // group.max.size (members + pending)
  int32_t offset_metadata_max_bytes = 4096;        // offset.metadata.max.bytes
  int32_t offsets_flush_interval_ms = 100;         // max time a commit sits un-fdatasync'ed
  uint64_t offsets_compact_min_bytes = 1u << 20;   // never compact a file smaller than this
  uint32_t offsets_compact_ratio = 4;              // compact when file > ratio * live bytes
};

// One assignment strategy a member supports ("range", "roundrobin", ...) and
// its opaque subscription metadata.
struct Protocol {
  std::string name;
  std::string metadata;
  bool operator==(const Protocol&) const = default;
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;                        // empty on the first join
  std::optional<std::string> group_instance_id; // static membership (KIP-345)
  int32_t session_timeout_ms = 10000;
  int32_t rebalance_timeout_ms = -1;            // <= 0: use session_timeout_ms (JoinGroup v0)
  std::string protocol_type;                    // "consumer", "connect", ...
  std::vector<Protocol> protocols;              // in the member's order of preference
  std::string client_id;
  std::string client_host;
  bool require_known_member_id = false;         // JoinGroup v4+ (KIP-394)
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string metadata;  // the member's metadata for the selected protocol
};

struct JoinResult {
  GroupError error = GroupError::NONE;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  // KIP-814: a static leader rejoining a Stable group gets the member list but
  // must not reassign. JoinGroup < v9 cannot say so: the front end should then
  // send an empty member list instead.
  bool skip_assignment = false;
  std::vector<JoinMember> members;  // non-empty only for the leader
};

struct MemberAssignment {
  std::string member_id;
  std::string assignment;
};

struct SyncRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;  // SyncGroup v5+
  std::optional<std::string> protocol_name;  // SyncGroup v5+
  std::vector<MemberAssignment> assignments; // only the leader sends them
};

struct SyncResult {
  GroupError error = GroupError::NONE;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

// A member named in LeaveGroup (v3+ carries a batch; v0-2 one member id).
struct MemberRef {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct LeaveResult {
  GroupError error = GroupError::NONE;                    // request-level
  std::vector<std::pair<MemberRef, GroupError>> members;  // one per requested member
};

struct CommitPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;  // null is stored as ""
};

struct CommitRequest {
  std::string group_id;
  int32_t generation_id = -1;  // -1: simple (standalone) commit, allowed on an Empty group
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<CommitPartition> partitions;
};

struct CommitPartitionResult {
  std::string topic;
  int32_t partition = 0;
  GroupError error = GroupError::NONE;
};

struct CommitResult {
  GroupError error = GroupError::NONE;  // request-level; also copied into every partition
  std::vector<CommitPartitionResult> partitions;  // same order as the request
};

struct FetchTopic {
  std::string topic;
  std::vector<int32_t> partitions;
};

struct FetchedPartition {
  int32_t partition = 0;
  int64_t offset = -1;        // -1: nothing committed
  int32_t leader_epoch = -1;
  std::string metadata;
  GroupError error = GroupError::NONE;
};

struct FetchedTopic {
  std::string topic;
  std::vector<FetchedPartition> partitions;
};

struct FetchOffsetsResult {
  GroupError error = GroupError::NONE;  // request-level (OffsetFetch v2+ top-level error)
  std::vector<FetchedTopic> topics;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  std::string state;  // "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"
};

struct DescribedMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // for the selected protocol; empty unless Stable
  std::string assignment;  // empty unless Stable
};

struct GroupDescription {
  GroupError error = GroupError::NONE;
  std::string group_id;
  std::string state;          // "Dead" for an unknown group (as Kafka)
  std::string protocol_type;
  std::string protocol_name;  // empty unless Stable (as Kafka)
  std::vector<DescribedMember> members;
};

}  // namespace wharf::broker::group
