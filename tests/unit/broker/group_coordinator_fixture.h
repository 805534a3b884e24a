// GroupCoordinatorTest: a fixture that drives a GroupCoordinator over all
// buckets of a temporary data directory on a test-owned io_context, with
// helpers that play the clients of one group "g". reopen() is a clean
// restart of the broker's coordinator on the same directory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/group/group_coordinator.h"
#include "group_test_util.h"

namespace wharf::broker::group::testing {

using namespace std::chrono_literals;

inline std::vector<uint32_t> all_buckets() {
  std::vector<uint32_t> b;
  for (uint32_t i = 0; i < kOffsetBuckets; ++i) b.push_back(i);
  return b;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.min_session_timeout_ms = 10;
    cfg.initial_rebalance_delay_ms = 50;
    cfg.offsets_flush_interval_ms = 20;
    reopen();
  }

  void reopen(std::vector<uint32_t> buckets = all_buckets()) {
    coord.reset();
    coord = std::make_unique<GroupCoordinator>(io, dir.path, cfg, std::move(buckets));
    ASSERT_TRUE(coord->load().ok());
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds t = 5000ms) {
    return testing::run_until(io, pred, t);
  }
  void run_for(std::chrono::milliseconds d) { testing::run_for(io, d); }

  static JoinRequest jreq(std::string member_id = {},
                          std::vector<Protocol> protocols = {{"range", "meta"}}) {
    JoinRequest r;
    r.group_id = "g";
    r.member_id = std::move(member_id);
    r.session_timeout_ms = 2000;
    r.rebalance_timeout_ms = 2000;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    return r;
  }

  Slot<JoinResult> join_async(JoinRequest r) {
    Slot<JoinResult> s;
    coord->join(std::move(r), s.cb());
    return s;
  }
  JoinResult join(JoinRequest r) {
    auto s = join_async(std::move(r));
    EXPECT_TRUE(run_until([&] { return s.ready(); }));
    return s.ready() ? s.get() : JoinResult{GroupError::UNKNOWN_SERVER_ERROR};
  }

  Slot<SyncResult> sync_async(const JoinResult& j, std::vector<MemberAssignment> a = {},
                              std::optional<std::string> instance = std::nullopt) {
    SyncRequest r;
    r.group_id = "g";
    r.generation_id = j.generation_id;
    r.member_id = j.member_id;
    r.group_instance_id = std::move(instance);
    r.assignments = std::move(a);
    Slot<SyncResult> s;
    coord->sync(std::move(r), s.cb());
    return s;
  }

  // Joins all requests concurrently and waits for every response.
  std::vector<JoinResult> join_all(std::vector<JoinRequest> reqs) {
    std::vector<Slot<JoinResult>> slots;
    for (auto& r : reqs) slots.push_back(join_async(r));
    EXPECT_TRUE(run_until([&] {
      return std::all_of(slots.begin(), slots.end(), [](auto& s) { return s.ready(); });
    }));
    std::vector<JoinResult> out;
    for (auto& s : slots) out.push_back(s.ready() ? s.get() : JoinResult{GroupError::UNKNOWN_SERVER_ERROR});
    return out;
  }

  // Plays the leader: assigns `partitions` round-robin over the members and
  // syncs everyone; returns member id -> assignment received.
  std::map<std::string, std::string> sync_all(const std::vector<JoinResult>& joins,
                                              int partitions = 6) {
    const JoinResult* leader = nullptr;
    for (auto& j : joins) {
      if (j.member_id == j.leader) leader = &j;
    }
    EXPECT_NE(leader, nullptr);
    std::vector<MemberAssignment> assignments;
    for (auto& m : leader->members) assignments.push_back({m.member_id, ""});
    for (int p = 0; p < partitions; ++p) {
      auto& a = assignments[p % assignments.size()].assignment;
      a += (a.empty() ? "" : ",") + std::to_string(p);
    }
    std::vector<Slot<SyncResult>> slots;
    for (auto& j : joins) {
      if (&j != leader) slots.push_back(sync_async(j));
    }
    run_for(10ms);
    for (auto& s : slots) EXPECT_FALSE(s.ready()) << "followers must wait for the leader";
    slots.push_back(sync_async(*leader, assignments));
    EXPECT_TRUE(run_until([&] {
      return std::all_of(slots.begin(), slots.end(), [](auto& s) { return s.ready(); });
    }));
    std::map<std::string, std::string> out;
    size_t i = 0;
    for (auto& j : joins) {
      if (&j == leader) continue;
      EXPECT_EQ(slots[i].get().error, GroupError::NONE);
      out[j.member_id] = slots[i++].get().assignment;
    }
    EXPECT_EQ(slots.back().get().error, GroupError::NONE);
    out[leader->member_id] = slots.back().get().assignment;
    return out;
  }

  TempDir dir;
  asio::io_context io;
  GroupConfig cfg;
  std::unique_ptr<GroupCoordinator> coord;
};

}  // namespace wharf::broker::group::testing
