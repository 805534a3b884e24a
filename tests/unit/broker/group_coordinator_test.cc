#include "broker/group/group_coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "group_coordinator_fixture.h"

namespace wharf::broker::group {
namespace {

using namespace std::chrono_literals;
using testing::GroupCoordinatorTest;
using testing::Slot;
using testing::TempDir;

TEST(GroupBucket, StableFnv1a) {
  // FNV-1a-32("a") == 0xe40c292c; 0xe40c292c % 16 == 12.
  EXPECT_EQ(GroupCoordinator::group_bucket("a"), 12u);
  EXPECT_EQ(GroupCoordinator::group_bucket("my-group"), GroupCoordinator::group_bucket("my-group"));
  EXPECT_LT(GroupCoordinator::group_bucket("x"), kOffsetBuckets);
}

TEST_F(GroupCoordinatorTest, ErrorCodesAreKafkas) {
  EXPECT_EQ(int16_t(GroupError::ILLEGAL_GENERATION), 22);
  EXPECT_EQ(int16_t(GroupError::REBALANCE_IN_PROGRESS), 27);
  EXPECT_EQ(int16_t(GroupError::MEMBER_ID_REQUIRED), 79);
  EXPECT_EQ(int16_t(GroupError::FENCED_INSTANCE_ID), 82);
  EXPECT_EQ(group_error_name(GroupError::NON_EMPTY_GROUP), "NON_EMPTY_GROUP");
}

TEST_F(GroupCoordinatorTest, SingleMemberJoinSyncHeartbeat) {
  JoinResult j = join(jreq());
  ASSERT_EQ(j.error, GroupError::NONE);
  EXPECT_EQ(j.generation_id, 1);
  EXPECT_EQ(j.leader, j.member_id);
  EXPECT_EQ(j.member_id.rfind("client-", 0), 0u);
  EXPECT_EQ(j.protocol_name, "range");
  EXPECT_EQ(j.protocol_type, "consumer");
  ASSERT_EQ(j.members.size(), 1u);
  EXPECT_EQ(j.members[0].metadata, "meta");
  EXPECT_EQ(coord->describe_group("g").state, "CompletingRebalance");

  auto s = sync_async(j, {{j.member_id, "all"}});
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
  EXPECT_EQ(s.get().assignment, "all");
  EXPECT_EQ(s.get().protocol_name, "range");
  EXPECT_EQ(coord->heartbeat("g", 1, j.member_id), GroupError::NONE);
  EXPECT_EQ(coord->heartbeat("g", 0, j.member_id), GroupError::ILLEGAL_GENERATION);
  EXPECT_EQ(coord->heartbeat("g", 1, "nobody"), GroupError::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coord->heartbeat("other", 1, j.member_id), GroupError::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coord->describe_group("g").state, "Stable");

  // A follower-style rejoin of the leader triggers a rebalance; alone it completes at once.
  JoinResult j2 = join(jreq(j.member_id));
  EXPECT_EQ(j2.error, GroupError::NONE);
  EXPECT_EQ(j2.generation_id, 2);
}

TEST_F(GroupCoordinatorTest, ThreeMembersJoinTogetherInOneGeneration) {
  auto joins = join_all({jreq(), jreq(), jreq()});
  std::set<std::string> ids;
  int leaders = 0;
  for (auto& j : joins) {
    ASSERT_EQ(j.error, GroupError::NONE);
    EXPECT_EQ(j.generation_id, 1);
    ids.insert(j.member_id);
    if (j.member_id == j.leader) {
      ++leaders;
      EXPECT_EQ(j.members.size(), 3u);
    } else {
      EXPECT_TRUE(j.members.empty());
    }
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(leaders, 1);
  auto assigned = sync_all(joins);
  ASSERT_EQ(assigned.size(), 3u);
  for (auto& [id, a] : assigned) {
    EXPECT_EQ(std::count(a.begin(), a.end(), ',') + 1, 2) << a;  // two of six partitions each
  }
}

TEST_F(GroupCoordinatorTest, InitialDelayIsExtendedForLateJoiners) {
  cfg.initial_rebalance_delay_ms = 60;
  reopen();
  auto a = join_async(jreq());
  run_for(40ms);
  auto b = join_async(jreq());  // within the first delay: extends it
  ASSERT_TRUE(run_until([&] { return a.ready() && b.ready(); }));
  EXPECT_EQ(a.get().generation_id, 1);
  EXPECT_EQ(b.get().generation_id, 1);
}

TEST_F(GroupCoordinatorTest, LeaveTriggersRebalanceOfTheRest) {
  auto joins = join_all({jreq(), jreq(), jreq()});
  sync_all(joins);
  const JoinResult& gone = joins[1];
  auto res = coord->leave("g", {{gone.member_id, std::nullopt}, {"ghost", std::nullopt}});
  EXPECT_EQ(res.error, GroupError::NONE);
  ASSERT_EQ(res.members.size(), 2u);
  EXPECT_EQ(res.members[0].second, GroupError::NONE);
  EXPECT_EQ(res.members[1].second, GroupError::UNKNOWN_MEMBER_ID);

  std::vector<JoinRequest> rejoin;
  for (auto& j : joins) {
    if (&j == &gone) continue;
    EXPECT_EQ(coord->heartbeat("g", 1, j.member_id), GroupError::REBALANCE_IN_PROGRESS);
    rejoin.push_back(jreq(j.member_id));
  }
  EXPECT_EQ(coord->describe_group("g").state, "PreparingRebalance");
  auto joins2 = join_all(rejoin);
  for (auto& j : joins2) {
    ASSERT_EQ(j.error, GroupError::NONE);
    EXPECT_EQ(j.generation_id, 2);
    if (j.member_id == j.leader) EXPECT_EQ(j.members.size(), 2u);
  }
  auto assigned = sync_all(joins2);
  for (auto& [id, a] : assigned) EXPECT_EQ(std::count(a.begin(), a.end(), ',') + 1, 3) << a;
  EXPECT_EQ(coord->heartbeat("g", 2, gone.member_id), GroupError::UNKNOWN_MEMBER_ID);

  // Everyone leaves: the group goes Empty.
  for (auto& j : joins2) coord->leave("g", {{j.member_id, std::nullopt}});
  EXPECT_EQ(coord->describe_group("g").state, "Empty");
}

TEST_F(GroupCoordinatorTest, SessionTimeoutRemovesSilentMember) {
  auto a = jreq(), b = jreq();
  a.session_timeout_ms = b.session_timeout_ms = 150;
  auto joins = join_all({a, b});
  sync_all(joins);
  // joins[0] keeps heartbeating, joins[1] goes silent.
  GroupError hb = GroupError::NONE;
  ASSERT_TRUE(run_until([&] {
    run_for(20ms);
    hb = coord->heartbeat("g", 1, joins[0].member_id);
    return hb != GroupError::NONE;
  }, 2000ms));
  EXPECT_EQ(hb, GroupError::REBALANCE_IN_PROGRESS);
  EXPECT_EQ(coord->heartbeat("g", 1, joins[1].member_id), GroupError::UNKNOWN_MEMBER_ID);
  JoinResult j = join(jreq(joins[0].member_id));
  EXPECT_EQ(j.generation_id, 2);
  EXPECT_EQ(j.members.size(), 1u);
}

TEST_F(GroupCoordinatorTest, MemberAwaitingJoinIsNotExpiredBySessionTimeout) {
  auto a = jreq(), b = jreq();
  a.session_timeout_ms = b.session_timeout_ms = 100;
  a.rebalance_timeout_ms = b.rebalance_timeout_ms = 2000;
  auto joins = join_all({a, b});
  sync_all(joins);
  // The leader rejoins and waits longer than its session timeout for b.
  auto ja = join_async(jreq(joins[0].member_id));
  // b keeps heartbeating (and is told to rejoin) but takes 300 ms to do so.
  for (int i = 0; i < 6; ++i) {
    run_for(50ms);
    EXPECT_EQ(coord->heartbeat("g", 1, joins[1].member_id), GroupError::REBALANCE_IN_PROGRESS);
  }
  EXPECT_FALSE(ja.ready());
  auto jb = join_async(jreq(joins[1].member_id));
  ASSERT_TRUE(run_until([&] { return ja.ready() && jb.ready(); }));
  EXPECT_EQ(ja.get().error, GroupError::NONE);
  EXPECT_EQ(ja.get().generation_id, 2);
  EXPECT_EQ(ja.get().members.size(), 2u);
}

TEST_F(GroupCoordinatorTest, RebalanceTimeoutDropsMemberThatDoesNotRejoin) {
  auto a = jreq(), b = jreq();
  a.rebalance_timeout_ms = b.rebalance_timeout_ms = 150;
  auto joins = join_all({a, b});
  sync_all(joins);
  const JoinResult& leader = joins[0].member_id == joins[0].leader ? joins[0] : joins[1];
  const JoinResult& other = &leader == &joins[0] ? joins[1] : joins[0];
  auto start = std::chrono::steady_clock::now();
  auto rejoin = a;
  rejoin.member_id = leader.member_id;
  auto r = join_async(rejoin);
  // The other member heartbeats (so its session stays alive) but never rejoins.
  ASSERT_TRUE(run_until([&] {
    coord->heartbeat("g", 1, other.member_id);
    return r.ready();
  }));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 140ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(r.get().generation_id, 2);
  EXPECT_EQ(r.get().members.size(), 1u);
  EXPECT_EQ(coord->heartbeat("g", 1, other.member_id), GroupError::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, MemberIdRequiredFlow) {
  auto r = jreq();
  r.require_known_member_id = true;
  JoinResult first = join(r);
  EXPECT_EQ(first.error, GroupError::MEMBER_ID_REQUIRED);
  EXPECT_FALSE(first.member_id.empty());
  EXPECT_TRUE(coord->describe_group("g").members.empty());
  r.member_id = first.member_id;
  JoinResult second = join(r);
  EXPECT_EQ(second.error, GroupError::NONE);
  EXPECT_EQ(second.member_id, first.member_id);
  EXPECT_EQ(second.generation_id, 1);
}

TEST_F(GroupCoordinatorTest, PendingMemberExpiresAfterSessionTimeout) {
  JoinResult a = join(jreq());
  sync_all({a});
  auto r = jreq();
  r.require_known_member_id = true;
  r.session_timeout_ms = 50;
  JoinResult p = join(r);
  ASSERT_EQ(p.error, GroupError::MEMBER_ID_REQUIRED);
  EXPECT_EQ(coord->describe_group("g").state, "Stable");  // pending members do not rebalance
  run_for(120ms);
  r.member_id = p.member_id;
  EXPECT_EQ(join(r).error, GroupError::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, StaticMemberReplacedWithoutRebalanceAndOldIdFenced) {
  auto a = jreq(), b = jreq();
  a.group_instance_id = "inst-a";
  b.group_instance_id = "inst-b";
  b.require_known_member_id = true;  // static members never get MEMBER_ID_REQUIRED
  auto joins = join_all({a, b});
  ASSERT_EQ(joins[0].error, GroupError::NONE);
  ASSERT_EQ(joins[1].error, GroupError::NONE);
  auto assigned = sync_all(joins);
  const JoinResult& old_a = joins[0];

  // inst-a restarts and rejoins with no member id.
  JoinResult na = join(a);
  ASSERT_EQ(na.error, GroupError::NONE);
  EXPECT_NE(na.member_id, old_a.member_id);
  EXPECT_EQ(na.generation_id, 1);  // no rebalance
  EXPECT_EQ(coord->describe_group("g").state, "Stable");
  if (old_a.member_id == old_a.leader) {
    EXPECT_EQ(na.leader, na.member_id);
    EXPECT_TRUE(na.skip_assignment);
  }
  auto s = sync_async(na, {}, "inst-a");
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
  EXPECT_EQ(s.get().assignment, assigned[old_a.member_id]);

  EXPECT_EQ(coord->heartbeat("g", 1, old_a.member_id, std::string("inst-a")),
            GroupError::FENCED_INSTANCE_ID);
  EXPECT_EQ(coord->heartbeat("g", 1, old_a.member_id), GroupError::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coord->heartbeat("g", 1, na.member_id, std::string("inst-a")), GroupError::NONE);
  EXPECT_EQ(coord->heartbeat("g", 1, joins[1].member_id, std::string("inst-b")), GroupError::NONE);

  // Leave by instance id (with a stale member id: fenced; without: removed).
  auto fenced = coord->leave("g", {{old_a.member_id, std::string("inst-a")}});
  EXPECT_EQ(fenced.members[0].second, GroupError::FENCED_INSTANCE_ID);
  auto left = coord->leave("g", {{"", std::string("inst-b")}});
  EXPECT_EQ(left.members[0].second, GroupError::NONE);
  EXPECT_EQ(coord->heartbeat("g", 1, na.member_id, std::string("inst-a")),
            GroupError::REBALANCE_IN_PROGRESS);
}

TEST_F(GroupCoordinatorTest, ProtocolSelectedByVoteAndInconsistentRejected) {
  auto joins = join_all({jreq({}, {{"range", "r1"}, {"roundrobin", "x1"}}),
                         jreq({}, {{"roundrobin", "x2"}, {"range", "r2"}}),
                         jreq({}, {{"roundrobin", "x3"}, {"range", "r3"}})});
  for (auto& j : joins) {
    ASSERT_EQ(j.error, GroupError::NONE);
    EXPECT_EQ(j.protocol_name, "roundrobin");
    for (auto& m : j.members) EXPECT_EQ(m.metadata[0], 'x');
  }
  sync_all(joins);
  EXPECT_EQ(join(jreq({}, {{"sticky", ""}})).error, GroupError::INCONSISTENT_GROUP_PROTOCOL);
  auto wrong_type = jreq();
  wrong_type.protocol_type = "connect";
  EXPECT_EQ(join(wrong_type).error, GroupError::INCONSISTENT_GROUP_PROTOCOL);
  auto no_protocols = jreq({}, {});
  no_protocols.group_id = "fresh";
  EXPECT_EQ(join(no_protocols).error, GroupError::INCONSISTENT_GROUP_PROTOCOL);
  EXPECT_EQ(coord->describe_group("g").state, "Stable");
}

TEST_F(GroupCoordinatorTest, FollowerRejoinWithSameMetadataKeepsGeneration) {
  auto joins = join_all({jreq(), jreq()});
  sync_all(joins);
  const JoinResult& follower = joins[0].member_id == joins[0].leader ? joins[1] : joins[0];
  JoinResult same = join(jreq(follower.member_id));
  EXPECT_EQ(same.error, GroupError::NONE);
  EXPECT_EQ(same.generation_id, 1);
  EXPECT_TRUE(same.members.empty());
  EXPECT_EQ(coord->describe_group("g").state, "Stable");
  // Changed subscription metadata: rebalance.
  auto changed = join_async(jreq(follower.member_id, {{"range", "new-topics"}}));
  run_for(5ms);
  EXPECT_EQ(coord->describe_group("g").state, "PreparingRebalance");
  const JoinResult& leader = &follower == &joins[0] ? joins[1] : joins[0];
  EXPECT_EQ(coord->heartbeat("g", 1, leader.member_id), GroupError::REBALANCE_IN_PROGRESS);
  JoinResult l = join(jreq(leader.member_id));
  ASSERT_TRUE(run_until([&] { return changed.ready(); }));
  EXPECT_EQ(l.generation_id, 2);
  ASSERT_EQ(l.members.size(), 2u);
  bool saw_new = false;
  for (auto& m : l.members) saw_new |= m.metadata == "new-topics";
  EXPECT_TRUE(saw_new);
}

TEST_F(GroupCoordinatorTest, SyncErrorsAndWaitersFailedByRebalance) {
  auto joins = join_all({jreq(), jreq()});
  const JoinResult& leader = joins[0].member_id == joins[0].leader ? joins[0] : joins[1];
  const JoinResult& follower = &leader == &joins[0] ? joins[1] : joins[0];
  JoinResult stale = follower;
  stale.generation_id = 0;
  auto bad = sync_async(stale);
  auto waiting = sync_async(follower);
  ASSERT_TRUE(run_until([&] { return bad.ready(); }));
  EXPECT_EQ(bad.get().error, GroupError::ILLEGAL_GENERATION);
  EXPECT_FALSE(waiting.ready());
  // The leader leaves before syncing: the waiting follower must rejoin.
  coord->leave("g", {{leader.member_id, std::nullopt}});
  ASSERT_TRUE(run_until([&] { return waiting.ready(); }));
  EXPECT_EQ(waiting.get().error, GroupError::REBALANCE_IN_PROGRESS);
  auto again = sync_async(follower);
  ASSERT_TRUE(run_until([&] { return again.ready(); }));
  EXPECT_EQ(again.get().error, GroupError::REBALANCE_IN_PROGRESS);
  JoinResult alone = join(jreq(follower.member_id));
  EXPECT_EQ(alone.generation_id, 2);
  EXPECT_EQ(alone.leader, follower.member_id);
}

TEST_F(GroupCoordinatorTest, GroupMaxSize) {
  cfg.max_group_size = 2;
  reopen();
  auto joins = join_all({jreq(), jreq(), jreq()});
  int full = 0;
  for (auto& j : joins) full += j.error == GroupError::GROUP_MAX_SIZE_REACHED;
  EXPECT_EQ(full, 1);
}

TEST_F(GroupCoordinatorTest, RequestValidation) {
  auto r = jreq();
  r.session_timeout_ms = 1;
  EXPECT_EQ(join(r).error, GroupError::INVALID_SESSION_TIMEOUT);
  r = jreq();
  r.group_id = "";
  EXPECT_EQ(join(r).error, GroupError::INVALID_GROUP_ID);
  EXPECT_EQ(join(jreq("unknown-member")).error, GroupError::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, CommitAndFetchOffsets) {
  JoinResult j = join(jreq());
  sync_all({j});
  CommitRequest c{"g", 1, j.member_id, std::nullopt,
                  {{"t", 0, 42, 3, std::string("m0")}, {"t", 1, 7, -1, std::nullopt},
                   {"u", 0, 1, -1, std::string(5000, 'x')}}};
  Slot<CommitResult> s;
  coord->commit_offsets(c, s.cb());
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
  EXPECT_EQ(s.get().partitions[0].error, GroupError::NONE);
  EXPECT_EQ(s.get().partitions[1].error, GroupError::NONE);
  EXPECT_EQ(s.get().partitions[2].error, GroupError::OFFSET_METADATA_TOO_LARGE);

  auto f = coord->fetch_offsets("g", std::vector<FetchTopic>{{"t", {0, 1, 2}}});
  ASSERT_EQ(f.topics.size(), 1u);
  auto& ps = f.topics[0].partitions;
  EXPECT_EQ(ps[0].offset, 42);
  EXPECT_EQ(ps[0].leader_epoch, 3);
  EXPECT_EQ(ps[0].metadata, "m0");
  EXPECT_EQ(ps[1].offset, 7);
  EXPECT_EQ(ps[2].offset, -1);
  auto all = coord->fetch_offsets("g", std::nullopt);
  ASSERT_EQ(all.topics.size(), 1u);  // "u" was rejected
  EXPECT_EQ(all.topics[0].partitions.size(), 2u);

  auto commit = [&](CommitRequest req) {
    Slot<CommitResult> cs;
    coord->commit_offsets(std::move(req), cs.cb());
    EXPECT_TRUE(run_until([&] { return cs.ready(); }));
    return cs.get().error;
  };
  EXPECT_EQ(commit({"g", 0, j.member_id, std::nullopt, {{"t", 0, 1}}}), GroupError::ILLEGAL_GENERATION);
  EXPECT_EQ(commit({"g", 1, "who", std::nullopt, {{"t", 0, 1}}}), GroupError::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(commit({"g", -1, "", std::nullopt, {{"t", 0, 1}}}), GroupError::UNKNOWN_MEMBER_ID);
  // Simple (standalone) commits: an unknown group is created Empty.
  EXPECT_EQ(commit({"simple", -1, "", std::nullopt, {{"t", 0, 9}}}), GroupError::NONE);
  EXPECT_EQ(commit({"nogroup", 3, "m", std::nullopt, {{"t", 0, 9}}}), GroupError::ILLEGAL_GENERATION);
  EXPECT_EQ(coord->fetch_offsets("simple", std::nullopt).topics[0].partitions[0].offset, 9);
  EXPECT_EQ(coord->describe_group("simple").state, "Empty");
  auto unknown = coord->fetch_offsets("nobody", std::vector<FetchTopic>{{"t", {0}}});
  EXPECT_EQ(unknown.error, GroupError::NONE);
  EXPECT_EQ(unknown.topics[0].partitions[0].offset, -1);

  // While a rebalance is prepared, the current generation may still commit.
  auto r = join_async(jreq(j.member_id));  // completes immediately (single member)
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_EQ(commit({"g", 2, j.member_id, std::nullopt, {{"t", 0, 50}}}), GroupError::REBALANCE_IN_PROGRESS);
}

TEST_F(GroupCoordinatorTest, CommitDuringPreparingRebalanceAccepted) {
  auto joins = join_all({jreq(), jreq()});
  sync_all(joins);
  coord->leave("g", {{joins[1].member_id, std::nullopt}});
  ASSERT_EQ(coord->describe_group("g").state, "PreparingRebalance");
  Slot<CommitResult> s;
  coord->commit_offsets({"g", 1, joins[0].member_id, std::nullopt, {{"t", 0, 5}}}, s.cb());
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
}

TEST_F(GroupCoordinatorTest, OffsetsSurviveReload) {
  Slot<CommitResult> s;
  coord->commit_offsets({"durable", -1, "", std::nullopt, {{"t", 3, 1234, 2, std::string("md")}}}, s.cb());
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  reopen();
  auto f = coord->fetch_offsets("durable", std::nullopt);
  ASSERT_EQ(f.topics.size(), 1u);
  EXPECT_EQ(f.topics[0].topic, "t");
  EXPECT_EQ(f.topics[0].partitions[0].partition, 3);
  EXPECT_EQ(f.topics[0].partitions[0].offset, 1234);
  EXPECT_EQ(f.topics[0].partitions[0].leader_epoch, 2);
  EXPECT_EQ(f.topics[0].partitions[0].metadata, "md");
  auto groups = coord->list_groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group_id, "durable");
  EXPECT_EQ(groups[0].state, "Empty");
}

TEST_F(GroupCoordinatorTest, CommitIsInTheFileBeforeTheCallback) {
  // What a kill -9 right after the callback would leave: the file as written,
  // without shutdown's flush or close. Read it with a second, independent log.
  Slot<CommitResult> s;
  coord->commit_offsets({"crash", -1, "", std::nullopt, {{"t", 0, 77}}}, s.cb());
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  auto copy = OffsetLog::open(dir.path + "/__consumer_offsets",
                              GroupCoordinator::group_bucket("crash"));
  ASSERT_TRUE(copy.ok());
  ASSERT_NE((*copy)->find("crash"), nullptr);
  EXPECT_EQ((*copy)->find("crash")->at({"t", 0}).offset, 77);
}

TEST_F(GroupCoordinatorTest, DeleteGroup) {
  EXPECT_EQ(coord->delete_group("g"), GroupError::GROUP_ID_NOT_FOUND);
  JoinResult j = join(jreq());
  sync_all({j});
  Slot<CommitResult> s;
  coord->commit_offsets({"g", 1, j.member_id, std::nullopt, {{"t", 0, 10}}}, s.cb());
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(coord->delete_group("g"), GroupError::NON_EMPTY_GROUP);
  coord->leave("g", {{j.member_id, std::nullopt}});
  EXPECT_EQ(coord->delete_group("g"), GroupError::NONE);
  EXPECT_EQ(coord->fetch_offsets("g", std::nullopt).topics.size(), 0u);
  EXPECT_TRUE(coord->list_groups().empty());
  reopen();
  EXPECT_EQ(coord->fetch_offsets("g", std::nullopt).topics.size(), 0u);
  EXPECT_EQ(coord->delete_group("g"), GroupError::GROUP_ID_NOT_FOUND);
}

TEST_F(GroupCoordinatorTest, ListAndDescribe) {
  auto joins = join_all({jreq(), jreq()});
  auto assigned = sync_all(joins, 4);
  auto groups = coord->list_groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group_id, "g");
  EXPECT_EQ(groups[0].protocol_type, "consumer");
  EXPECT_EQ(groups[0].state, "Stable");
  auto d = coord->describe_group("g");
  EXPECT_EQ(d.error, GroupError::NONE);
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (auto& m : d.members) {
    EXPECT_EQ(m.client_id, "client");
    EXPECT_EQ(m.client_host, "/127.0.0.1");
    EXPECT_EQ(m.metadata, "meta");
    EXPECT_EQ(m.assignment, assigned[m.member_id]);
  }
  EXPECT_EQ(coord->describe_group("missing").state, "Dead");
}

TEST_F(GroupCoordinatorTest, NotCoordinatorAndLoading) {
  uint32_t mine = GroupCoordinator::group_bucket("g");
  coord = std::make_unique<GroupCoordinator>(io, dir.path, cfg, std::vector<uint32_t>{mine});
  EXPECT_EQ(join(jreq()).error, GroupError::COORDINATOR_LOAD_IN_PROGRESS);
  ASSERT_TRUE(coord->load().ok());
  std::string foreign = "h";
  while (GroupCoordinator::group_bucket(foreign) == mine) foreign += "h";
  auto r = jreq();
  r.group_id = foreign;
  EXPECT_EQ(join(r).error, GroupError::NOT_COORDINATOR);
  EXPECT_EQ(coord->heartbeat(foreign, 1, "m"), GroupError::NOT_COORDINATOR);
  EXPECT_EQ(coord->fetch_offsets(foreign, std::nullopt).error, GroupError::NOT_COORDINATOR);
  EXPECT_EQ(coord->delete_group(foreign), GroupError::NOT_COORDINATOR);
  EXPECT_EQ(join(jreq()).error, GroupError::NONE);
}

TEST_F(GroupCoordinatorTest, ShutdownFailsWaitingRequests) {
  auto a = join_async(jreq());
  run_for(5ms);
  ASSERT_FALSE(a.ready());  // still in the initial delay
  coord->shutdown();
  ASSERT_TRUE(a.ready());
  EXPECT_EQ(a.get().error, GroupError::NOT_COORDINATOR);
  EXPECT_EQ(coord->heartbeat("g", 1, "m"), GroupError::NOT_COORDINATOR);
  run_for(100ms);  // cancelled timers fire harmlessly
}

}  // namespace
}  // namespace wharf::broker::group
