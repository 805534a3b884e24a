// Group and Member: the in-memory state of one consumer group. Plain data
// plus pure helpers; the state machine that drives it is GroupCoordinator.
//
// Ownership: a Group is owned by its shard's GroupCoordinator (unique_ptr in a
// map, so its address is stable); a Member is owned by its Group. Timers are
// members of these objects; their handlers find their target again by id and
// check an epoch, so a fired-but-stale timer is harmless.
// Thread rules: shard thread only.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/group/group_metadata.h"
#include "broker/group/group_types.h"

namespace wharf::broker::group {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// Kafka's name of the state ("Empty", "PreparingRebalance", ...).
std::string_view group_state_name(GroupState s);

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;
using CommitCallback = std::function<void(CommitResult)>;

struct Member {
  explicit Member(asio::io_context& io) : session_timer(io) {}

  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<Protocol> protocols;  // in preference order
  std::string assignment;           // valid in Stable
  uint64_t join_seq = 0;            // order of arrival; the earliest becomes leader

  // Set while a JoinGroup / SyncGroup of this member waits for the rebalance.
  JoinCallback awaiting_join;
  SyncCallback awaiting_sync;

  // Session expiry; re-armed by join completion, heartbeat, sync and commit.
  asio::steady_timer session_timer;
  uint64_t session_epoch = 0;  // bumped on every re-arm; stale handlers compare it

  const std::string* metadata_for(std::string_view protocol) const;
};

struct Group {
  Group(asio::io_context& io, std::string group_id) : id(std::move(group_id)), join_timer(io) {}

  std::string id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;                 // of the members; kept while Empty
  std::optional<std::string> protocol_name;  // chosen at each join completion
  std::string leader;                        // member id; empty if no members

  std::map<std::string, std::unique_ptr<Member>, std::less<>> members;  // by member id
  std::map<std::string, std::string, std::less<>> static_members;       // instance id -> member id
  // Member ids handed out with MEMBER_ID_REQUIRED, awaiting their second join.
  std::map<std::string, std::unique_ptr<asio::steady_timer>, std::less<>> pending;

  // Join phase (PreparingRebalance): fires at the rebalance timeout or at the
  // end of the initial delay. Stale handlers compare join_epoch.
  asio::steady_timer join_timer;
  uint64_t join_epoch = 0;
  bool initial_delay = false;       // in the initial delay of a group that was Empty
  bool new_member_added = false;    // a new member joined during the current delay
  int32_t initial_remaining_ms = 0; // how much longer the initial delay may be extended

  Member* find(std::string_view member_id) const;
  // Every member waits in JoinGroup and no MEMBER_ID_REQUIRED member is outstanding.
  bool all_joined() const;
  int32_t max_rebalance_timeout_ms() const;
  // Whether a member with these protocols may be in the group together with
  // every current member except `self` (which is being replaced/rejoins).
  bool supports(std::string_view type, const std::vector<Protocol>& protocols,
                const Member* self) const;
  // The protocol every member supports, chosen by vote: each member votes for
  // the first protocol in its own preference list that all support; ties go
  // to the leader's preference. nullopt if there is none or no members.
  std::optional<std::string> select_protocol() const;
  // The member that arrived first (lowest join_seq), or nullptr.
  Member* earliest() const;
  // What the offsets log keeps of the group. REQUIRES: state is Empty or
  // Stable (the only states that are stored; see group_metadata.h).
  GroupMetadata snapshot() const;
};

}  // namespace wharf::broker::group
