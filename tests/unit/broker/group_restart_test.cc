// What a consumer group looks like after the broker restarts (reopen() is a
// clean restart of the coordinator on the same data directory): as in Kafka,
// an Empty group keeps its protocol type and generation, a Stable group comes
// back with its members and assignments, members that do not heartbeat are
// expired, static members keep their identity, deleted groups stay deleted.
#include <gtest/gtest.h>

#include "group_coordinator_fixture.h"

namespace wharf::broker::group {
namespace {

using namespace std::chrono_literals;
using testing::GroupCoordinatorTest;
using testing::Slot;

TEST_F(GroupCoordinatorTest, EmptyGroupKeepsProtocolTypeAndGenerationAcrossRestart) {
  JoinResult j = join(jreq());
  sync_all({j});
  coord->leave("g", {{j.member_id, std::nullopt}});
  ASSERT_EQ(coord->describe_group("g").state, "Empty");

  // Already in the file when leave() returns (a kill -9 now would keep it).
  auto copy = OffsetLog::open(dir.path + "/__consumer_offsets", GroupCoordinator::group_bucket("g"));
  ASSERT_TRUE(copy.ok());
  ASSERT_NE((*copy)->find_metadata("g"), nullptr);
  EXPECT_EQ((*copy)->find_metadata("g")->protocol_type, "consumer");
  copy->reset();

  reopen();
  auto groups = coord->list_groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group_id, "g");
  EXPECT_EQ(groups[0].protocol_type, "consumer");
  EXPECT_EQ(groups[0].state, "Empty");
  auto d = coord->describe_group("g");
  EXPECT_EQ(d.error, GroupError::NONE);
  EXPECT_EQ(d.state, "Empty");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "");
  EXPECT_TRUE(d.members.empty());
  // Generation 1 was Stable, 2 Empty: the next one is 3, as it would have been.
  JoinResult again = join(jreq());
  ASSERT_EQ(again.error, GroupError::NONE);
  EXPECT_EQ(again.generation_id, 3);
}

TEST_F(GroupCoordinatorTest, StableGroupComesBackWithMembersAndAssignments) {
  auto joins = join_all({jreq(), jreq()});
  auto assigned = sync_all(joins, 4);
  Slot<CommitResult> c;
  coord->commit_offsets({"g", 1, joins[0].member_id, std::nullopt, {{"t", 0, 42, -1, std::nullopt}}}, c.cb());
  ASSERT_TRUE(run_until([&] { return c.ready(); }));

  reopen();
  auto d = coord->describe_group("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (auto& m : d.members) {
    ASSERT_EQ(assigned.count(m.member_id), 1u) << m.member_id;
    EXPECT_EQ(m.assignment, assigned[m.member_id]);
    EXPECT_EQ(m.metadata, "meta");
    EXPECT_EQ(m.client_id, "client");
    EXPECT_EQ(m.client_host, "/127.0.0.1");
  }
  // The members carry on in their generation without a rebalance.
  for (auto& j : joins) EXPECT_EQ(coord->heartbeat("g", 1, j.member_id), GroupError::NONE);
  auto s = sync_async(joins[1]);
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
  EXPECT_EQ(s.get().assignment, assigned[joins[1].member_id]);
  Slot<CommitResult> c2;
  coord->commit_offsets({"g", 1, joins[1].member_id, std::nullopt, {{"t", 1, 7, -1, std::nullopt}}}, c2.cb());
  ASSERT_TRUE(run_until([&] { return c2.ready(); }));
  EXPECT_EQ(c2.get().error, GroupError::NONE);
  EXPECT_EQ(coord->fetch_offsets("g", std::nullopt).topics[0].partitions[0].offset, 42);
  EXPECT_EQ(coord->describe_group("g").state, "Stable");
}

TEST_F(GroupCoordinatorTest, MemberSilentAfterRestartIsExpiredAndTheRestRebalance) {
  auto a = jreq(), b = jreq();
  a.session_timeout_ms = b.session_timeout_ms = 300;
  auto joins = join_all({a, b});
  sync_all(joins);
  const std::string alive = joins[0].member_id, silent = joins[1].member_id;

  reopen();
  // Only `alive` heartbeats; `silent` is gone after its session timeout.
  for (int i = 0; i < 100 && coord->describe_group("g").state == "Stable"; ++i) {
    coord->heartbeat("g", 1, alive);
    run_for(50ms);
  }
  ASSERT_EQ(coord->describe_group("g").state, "PreparingRebalance");
  EXPECT_EQ(coord->heartbeat("g", 1, alive), GroupError::REBALANCE_IN_PROGRESS);
  EXPECT_EQ(coord->heartbeat("g", 1, silent), GroupError::UNKNOWN_MEMBER_ID);
  auto rejoin = jreq(alive);
  rejoin.session_timeout_ms = 300;
  JoinResult j = join(rejoin);
  ASSERT_EQ(j.error, GroupError::NONE);
  EXPECT_EQ(j.generation_id, 2);
  EXPECT_EQ(j.leader, alive);
  ASSERT_EQ(j.members.size(), 1u);
  EXPECT_EQ(j.members[0].member_id, alive);
}

TEST_F(GroupCoordinatorTest, GroupWhoseMembersNeverReturnBecomesEmptyAndStaysSo) {
  auto r = jreq();
  r.session_timeout_ms = 200;
  sync_all({join(r)});
  reopen();
  EXPECT_EQ(coord->describe_group("g").state, "Stable");
  ASSERT_TRUE(run_until([&] { return coord->describe_group("g").state == "Empty"; }));
  reopen();
  auto d = coord->describe_group("g");
  EXPECT_EQ(d.state, "Empty");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_TRUE(d.members.empty());
  EXPECT_EQ(join(jreq()).generation_id, 3);  // 1 Stable, 2 Empty after the expiry
}

TEST_F(GroupCoordinatorTest, StaticMemberKeepsItsIdentityAcrossRestart) {
  auto a = jreq(), b = jreq();
  a.group_instance_id = "inst-a";
  b.group_instance_id = "inst-b";
  auto joins = join_all({a, b});
  auto assigned = sync_all(joins);
  const std::string old_a = joins[0].member_id;

  reopen();
  auto d = coord->describe_group("g");
  ASSERT_EQ(d.members.size(), 2u);
  for (auto& m : d.members) {
    EXPECT_EQ(m.group_instance_id, m.member_id == old_a ? "inst-a" : "inst-b");
  }
  // inst-a comes back with a new process (no member id): it takes over its
  // old assignment without a rebalance, and its old member id is fenced.
  JoinResult na = join(a);
  ASSERT_EQ(na.error, GroupError::NONE);
  EXPECT_NE(na.member_id, old_a);
  EXPECT_EQ(na.generation_id, 1);
  auto s = sync_async(na, {}, "inst-a");
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::NONE);
  EXPECT_EQ(s.get().assignment, assigned[old_a]);
  EXPECT_EQ(coord->heartbeat("g", 1, old_a, std::string("inst-a")), GroupError::FENCED_INSTANCE_ID);
  EXPECT_EQ(coord->describe_group("g").state, "Stable");

  // The replacement is stored too: after another restart the new id is the member.
  reopen();
  EXPECT_EQ(coord->heartbeat("g", 1, na.member_id, std::string("inst-a")), GroupError::NONE);
  EXPECT_EQ(coord->heartbeat("g", 1, old_a, std::string("inst-a")), GroupError::FENCED_INSTANCE_ID);
}

TEST_F(GroupCoordinatorTest, DeletedGroupStaysDeletedAcrossRestart) {
  JoinResult j = join(jreq());
  sync_all({j});
  coord->leave("g", {{j.member_id, std::nullopt}});  // Empty, stored, no offsets
  ASSERT_EQ(coord->delete_group("g"), GroupError::NONE);
  reopen();
  EXPECT_TRUE(coord->list_groups().empty());
  EXPECT_EQ(coord->describe_group("g").state, "Dead");
  EXPECT_EQ(coord->delete_group("g"), GroupError::GROUP_ID_NOT_FOUND);
  JoinResult fresh = join(jreq());
  EXPECT_EQ(fresh.generation_id, 1) << "a group of the same name starts over";
}

TEST_F(GroupCoordinatorTest, AssignmentTooLargeToStoreFailsTheSyncAndRebalances) {
  JoinResult j = join(jreq());
  std::string huge(offset_format::kMaxPayload, 'x');
  auto s = sync_async(j, {{j.member_id, huge}});
  ASSERT_TRUE(run_until([&] { return s.ready(); }));
  EXPECT_EQ(s.get().error, GroupError::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(coord->describe_group("g").state, "PreparingRebalance");
  // The member rejoins and a storable assignment goes through.
  JoinResult j2 = join(jreq(j.member_id));
  ASSERT_EQ(j2.error, GroupError::NONE);
  EXPECT_EQ(j2.generation_id, 2);
  auto s2 = sync_async(j2, {{j2.member_id, "0"}});
  ASSERT_TRUE(run_until([&] { return s2.ready(); }));
  EXPECT_EQ(s2.get().error, GroupError::NONE);
  reopen();
  EXPECT_EQ(coord->describe_group("g").members.at(0).assignment, "0");
}

}  // namespace
}  // namespace wharf::broker::group
