// GroupMetadata: what the offsets log keeps of a consumer group besides its
// offsets, so that a restarted broker knows the group as Kafka does (Kafka
// keeps the same in __consumer_offsets): protocol type, generation, protocol,
// leader and the members with their subscriptions and assignments.
//
// Only two shapes are ever stored (GroupCoordinator writes at these points):
//   - members empty:     the group became Empty (protocol_name is nullopt);
//   - members non-empty: the group became Stable in `generation` (SyncGroup
//                        of the leader delivered the assignments), or a
//                        static member was replaced while it was Stable.
// A deleted group has no metadata: its deletion is the offsets log's group
// tombstone.
//
// Encoded value, version 0 (all integers big-endian; the version itself is
// carried by the record that holds the value, see offset_log.h):
//
//   u32  protocol_type_len | protocol_type
//   i32  generation
//   i32  protocol_name_len (-1 = null) | protocol_name
//   u32  leader_len | leader                     (member id; empty if no members)
//   u32  member_count
//   member_count times:
//     u32  member_id_len | member_id
//     i32  instance_id_len (-1 = dynamic member) | group.instance.id
//     u32  client_id_len | client_id
//     u32  client_host_len | client_host
//     i32  session_timeout_ms
//     i32  rebalance_timeout_ms
//     u32  protocol_count                        (the member's JoinGroup list, in order)
//     protocol_count times:
//       u32  name_len | name
//       u32  metadata_len | metadata             (the subscription bytes)
//     u32  assignment_len | assignment
//
// Lengths are u32 (not the u16 of the record keys) because none of these is
// bounded by a Kafka name limit: subscriptions and assignments are bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/group/group_types.h"

namespace wharf::broker::group {

namespace group_metadata_format {
inline constexpr int32_t kVersion = 0;  // the only version this broker writes and reads
inline constexpr size_t kGroupFixedSize = 4 + 4 + 4 + 4 + 4;
inline constexpr size_t kMemberFixedSize = 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4;
inline constexpr size_t kProtocolFixedSize = 4 + 4;
static_assert(kGroupFixedSize == 5 * sizeof(uint32_t));
static_assert(kMemberFixedSize == 32);
static_assert(kProtocolFixedSize == 8);
}  // namespace group_metadata_format

struct StoredMember {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<Protocol> protocols;
  std::string assignment;
  bool operator==(const StoredMember&) const = default;
};

struct GroupMetadata {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::vector<StoredMember> members;  // empty: the group was Empty
  bool operator==(const GroupMetadata&) const = default;
};

// The version-0 value of `md`, and its size in bytes.
std::string encode_group_metadata(const GroupMetadata& md);
size_t encoded_group_metadata_size(const GroupMetadata& md);
// Parses a version-0 value; the whole of `value` must be consumed.
result<GroupMetadata> decode_group_metadata(std::string_view value);

}  // namespace wharf::broker::group
