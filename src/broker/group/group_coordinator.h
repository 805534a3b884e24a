// GroupCoordinator: the consumer-group coordinator of one shard (Kafka group
// membership protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, offset
// commit/fetch, list/describe/delete), independent of any wire format.
//
// Ownership and threads: one coordinator per shard, owning the groups whose
// bucket (group_bucket(id)) is in its bucket list, and one OffsetLog per such
// bucket. Every method must be called on the shard's thread (the thread that
// runs `io`); every callback is invoked on that thread, always via
// asio::post (never from inside the call that registered it), except in
// shutdown() which invokes the outstanding ones directly. Join and Sync
// callbacks may run much later (when the rebalance completes).
//
// Group lifecycle: Empty -> PreparingRebalance (a join or member change) ->
// CompletingRebalance (everyone rejoined or the rebalance timeout fired:
// generation++, leader chosen, join responses sent) -> Stable (the leader's
// SyncGroup delivered the assignments). A group that loses all members goes
// back to Empty; delete_group removes an Empty group and its offsets.
//
// Durability of commits: the offset record is written (write(2)) before the
// commit callback is posted; a background thread fdatasyncs within
// GroupConfig::offsets_flush_interval_ms (see offset_log.h).
//
// Durability of the group itself (as Kafka's __consumer_offsets): its
// metadata (group_metadata.h) is written when a generation becomes Stable
// (before the SyncGroup responses; if it cannot be written they fail and the
// group rebalances), when a static member is replaced in a Stable group, and
// when the group becomes Empty; deletion writes a tombstone. load() brings
// every stored group back: Empty ones as Empty with their protocol type and
// generation; Stable ones as Stable with their members (static ones keep
// their instance ids), leader and assignments, each member's session timer
// started anew, so members that do not heartbeat in time are removed and the
// group rebalances (to Empty if nobody is left). Groups known only by their
// offsets come back Empty without a protocol type.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/group/group.h"
#include "broker/group/group_types.h"
#include "broker/group/offset_flusher.h"
#include "broker/group/offset_log.h"

namespace wharf::broker::group {

class GroupCoordinator {
 public:
  // `data_dir`: offsets go to <data_dir>/__consumer_offsets/<bucket>.log.
  // `buckets`: the buckets (< kOffsetBuckets) this shard owns.
  GroupCoordinator(asio::io_context& io, std::string data_dir, GroupConfig config,
                   std::vector<uint32_t> buckets);
  ~GroupCoordinator();  // calls shutdown()
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Stable FNV-1a hash of the group id modulo kOffsetBuckets.
  static uint32_t group_bucket(std::string_view group_id);
  bool owns(std::string_view group_id) const;

  // Opens and replays the offset files of the owned buckets and restores
  // their groups. Until it succeeds, requests get COORDINATOR_LOAD_IN_PROGRESS.
  status load();
  // Cancels timers, fdatasyncs and closes the offset files, and fails every
  // waiting join/sync with NOT_COORDINATOR. Later requests get NOT_COORDINATOR.
  void shutdown();

  void join(JoinRequest req, JoinCallback done);
  void sync(SyncRequest req, SyncCallback done);
  GroupError heartbeat(std::string_view group_id, int32_t generation_id,
                       std::string_view member_id,
                       const std::optional<std::string>& group_instance_id = std::nullopt);
  LeaveResult leave(std::string_view group_id, const std::vector<MemberRef>& members);

  void commit_offsets(CommitRequest req, CommitCallback done);
  // topics == nullopt: every partition the group has committed.
  FetchOffsetsResult fetch_offsets(std::string_view group_id,
                                   const std::optional<std::vector<FetchTopic>>& topics) const;

  std::vector<GroupListing> list_groups() const;
  GroupDescription describe_group(std::string_view group_id) const;
  GroupError delete_group(std::string_view group_id);

  // For tests and admin: the offset log of a bucket, or nullptr if not owned/loaded.
  OffsetLog* offset_log(uint32_t bucket) const;

 private:
  enum class Phase { kLoading, kActive, kShutdown };

  GroupError check_common(std::string_view group_id) const;
  GroupError check_member(const Group& g, std::string_view member_id,
                          const std::optional<std::string>& instance_id) const;
  Group* find_group(std::string_view group_id) const;
  Group& get_or_create_group(std::string_view group_id);
  std::string new_member_id(std::string_view client_id);
  // Loading and storing group metadata (see the durability note above).
  void restore_group(const std::string& group_id, const GroupMetadata& md);
  status store_group(const Group& g);

  // Join paths.
  void join_new_member(Group& g, JoinRequest& req, JoinCallback& done);
  void join_known_member(Group& g, JoinRequest& req, JoinCallback& done);
  void replace_static_member(Group& g, const std::string& old_id, JoinRequest& req,
                             JoinCallback& done);
  void add_member_and_rebalance(Group& g, const std::string& member_id, JoinRequest& req,
                                JoinCallback& done);
  void update_member(Member& m, JoinRequest& req, JoinCallback& done);
  JoinResult join_result_for(const Group& g, const Member& m) const;

  // Rebalance state machine.
  void prepare_rebalance(Group& g, std::string_view reason);
  void maybe_complete_join(Group& g);
  void complete_join(Group& g);
  void arm_join_timer(Group& g, int32_t ms);
  void on_join_timer(Group& g);
  void remove_member(Group& g, const std::string& member_id, GroupError reply_error,
                     std::string_view reason);
  void fail_syncs(Group& g, GroupError e);

  // Timers.
  void arm_session(Group& g, Member& m);
  void on_session_expired(Group& g, Member& m);
  void add_pending(Group& g, const std::string& member_id, int32_t session_timeout_ms);

  template <class R, class F>
  void reply(F&& cb, R r) {
    asio::post(io_, [cb = std::forward<F>(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  }

  asio::io_context& io_;
  std::string data_dir_;
  GroupConfig cfg_;
  std::set<uint32_t> buckets_;
  Phase phase_ = Phase::kLoading;
  std::map<uint32_t, std::unique_ptr<OffsetLog>> logs_;
  std::unique_ptr<OffsetFlusher> flusher_;
  std::map<std::string, std::unique_ptr<Group>, std::less<>> groups_;
  uint64_t join_seq_ = 0;
  std::mt19937_64 rng_;
  // Timer handlers hold a weak_ptr to this; expired means the coordinator is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace wharf::broker::group
