#include "broker/group/group_coordinator.h"

#include <sys/stat.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/logging.h"

namespace wharf::broker::group {

using std::chrono::milliseconds;

namespace {
// Kafka's group ids and topic names carry an int16 length on the wire.
constexpr size_t kMaxNameLength = 32767;
}  // namespace

GroupCoordinator::GroupCoordinator(asio::io_context& io, std::string data_dir,
                                   GroupConfig config, std::vector<uint32_t> buckets)
    : io_(io),
      data_dir_(std::move(data_dir)),
      cfg_(config),
      buckets_(buckets.begin(), buckets.end()),
      rng_(std::random_device{}()) {}

GroupCoordinator::~GroupCoordinator() { shutdown(); }

uint32_t GroupCoordinator::group_bucket(std::string_view group_id) {
  uint32_t h = 2166136261u;  // FNV-1a, 32 bit
  for (unsigned char c : group_id) {
    h ^= c;
    h *= 16777619u;
  }
  return h % kOffsetBuckets;
}

bool GroupCoordinator::owns(std::string_view group_id) const {
  return buckets_.count(group_bucket(group_id)) != 0;
}

status GroupCoordinator::load() {
  if (phase_ != Phase::kLoading) return make_error(Errc::kInvalidArgument, "load() twice");
  std::string dir = data_dir_ + "/__consumer_offsets";
  for (const std::string& d : {data_dir_, dir}) {
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      return make_error(Errc::kIo, "mkdir " + d + ": " + std::strerror(errno));
    }
  }
  OffsetLogOptions opts{cfg_.offsets_compact_min_bytes, cfg_.offsets_compact_ratio};
  std::map<uint32_t, std::unique_ptr<OffsetLog>> logs;
  for (uint32_t b : buckets_) {
    if (b >= kOffsetBuckets) return make_error(Errc::kInvalidArgument, "bucket out of range");
    auto log = OffsetLog::open(dir, b, opts);
    if (!log) return log.error();
    logs[b] = std::move(*log);
  }
  flusher_ = std::make_unique<OffsetFlusher>(milliseconds(cfg_.offsets_flush_interval_ms));
  for (auto& [b, log] : logs) {
    flusher_->add(log->sync_slot());
    // Groups known only by their offsets appear as Empty groups (as in Kafka).
    for (auto& [gid, offsets] : log->groups()) get_or_create_group(gid);
    for (auto& [gid, md] : log->group_metadata()) restore_group(gid, md);
  }
  logs_ = std::move(logs);
  phase_ = Phase::kActive;
  WLOG_INFO("group", "coordinator loaded {} buckets, {} groups", logs_.size(), groups_.size());
  return {};
}

void GroupCoordinator::shutdown() {
  if (phase_ == Phase::kShutdown) return;
  phase_ = Phase::kShutdown;
  std::vector<JoinCallback> joins;
  std::vector<SyncCallback> syncs;
  for (auto& [gid, g] : groups_) {
    g->join_timer.cancel();
    for (auto& [pid, t] : g->pending) t->cancel();
    for (auto& [mid, m] : g->members) {
      m->session_timer.cancel();
      if (m->awaiting_join) joins.push_back(std::move(m->awaiting_join));
      if (m->awaiting_sync) syncs.push_back(std::move(m->awaiting_sync));
    }
  }
  groups_.clear();
  flusher_.reset();  // joins the thread after a final fdatasync
  logs_.clear();
  alive_.reset();
  for (auto& cb : joins) {
    JoinResult r;
    r.error = GroupError::NOT_COORDINATOR;
    cb(std::move(r));
  }
  for (auto& cb : syncs) {
    SyncResult r;
    r.error = GroupError::NOT_COORDINATOR;
    cb(std::move(r));
  }
}

OffsetLog* GroupCoordinator::offset_log(uint32_t bucket) const {
  auto it = logs_.find(bucket);
  return it == logs_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------- helpers

GroupError GroupCoordinator::check_common(std::string_view group_id) const {
  if (phase_ == Phase::kShutdown) return GroupError::NOT_COORDINATOR;
  if (group_id.empty() || group_id.size() > kMaxNameLength) return GroupError::INVALID_GROUP_ID;
  if (!owns(group_id)) return GroupError::NOT_COORDINATOR;
  if (phase_ == Phase::kLoading) return GroupError::COORDINATOR_LOAD_IN_PROGRESS;
  return GroupError::NONE;
}

GroupError GroupCoordinator::check_member(const Group& g, std::string_view member_id,
                                          const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    auto it = g.static_members.find(*instance_id);
    if (it != g.static_members.end() && it->second != member_id) {
      return GroupError::FENCED_INSTANCE_ID;
    }
  }
  if (!g.find(member_id)) return GroupError::UNKNOWN_MEMBER_ID;
  return GroupError::NONE;
}

Group* GroupCoordinator::find_group(std::string_view group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create_group(std::string_view group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    it = groups_.emplace(std::string(group_id), std::make_unique<Group>(io_, std::string(group_id)))
             .first;
  }
  return *it->second;
}

void GroupCoordinator::restore_group(const std::string& group_id, const GroupMetadata& md) {
  Group& g = get_or_create_group(group_id);
  g.protocol_type = md.protocol_type;
  g.generation = md.generation;
  if (md.members.empty()) return;  // Empty: no protocol, no leader
  bool leader_known = false;
  for (auto& sm : md.members) leader_known |= sm.id == md.leader;
  if (!md.protocol_name || !leader_known) {
    // Never written so (snapshot() of a Stable group); keep what is sound.
    WLOG_WARN("group", "group {}: stored generation {} has no protocol or leader; loaded as Empty",
              group_id, md.generation);
    return;
  }
  g.protocol_name = md.protocol_name;
  g.leader = md.leader;
  for (auto& sm : md.members) {
    auto m = std::make_unique<Member>(io_);
    m->id = sm.id;
    m->instance_id = sm.instance_id;
    m->client_id = sm.client_id;
    m->client_host = sm.client_host;
    m->session_timeout_ms = sm.session_timeout_ms;
    m->rebalance_timeout_ms = sm.rebalance_timeout_ms;
    m->protocols = sm.protocols;
    m->assignment = sm.assignment;
    m->join_seq = ++join_seq_;
    if (m->instance_id) g.static_members[*m->instance_id] = m->id;
    g.members.emplace(sm.id, std::move(m));
  }
  g.state = GroupState::kStable;
  // As Kafka after loading a group: the session of every member starts now;
  // whoever does not heartbeat (or rejoin) within it is removed.
  for (auto& [id, m] : g.members) arm_session(g, *m);
  WLOG_INFO("group", "group {}: loaded generation {} with {} members", group_id, g.generation,
            g.members.size());
}

status GroupCoordinator::store_group(const Group& g) {
  OffsetLog* log = offset_log(group_bucket(g.id));
  assert(log && "owned bucket without an offset log");
  return log->put_group(g.id, g.snapshot());
}

std::string GroupCoordinator::new_member_id(std::string_view client_id) {
  uint64_t a = rng_(), b = rng_();
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", uint32_t(a >> 32),
                uint32_t(a >> 16) & 0xffff, (uint32_t(a) & 0x0fff) | 0x4000,
                (uint32_t(b >> 48) & 0x3fff) | 0x8000,
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return std::string(client_id) + "-" + uuid;
}

// ---------------------------------------------------------------- join

void GroupCoordinator::join(JoinRequest req, JoinCallback done) {
  auto fail = [&](GroupError e) {
    JoinResult r;
    r.error = e;
    r.member_id = req.member_id;
    reply(std::move(done), std::move(r));
  };
  if (auto e = check_common(req.group_id); e != GroupError::NONE) return fail(e);
  if (req.session_timeout_ms < cfg_.min_session_timeout_ms ||
      req.session_timeout_ms > cfg_.max_session_timeout_ms) {
    return fail(GroupError::INVALID_SESSION_TIMEOUT);
  }
  if (req.rebalance_timeout_ms <= 0) req.rebalance_timeout_ms = req.session_timeout_ms;
  Group* g = find_group(req.group_id);
  if (!g) {
    if (!req.member_id.empty()) return fail(GroupError::UNKNOWN_MEMBER_ID);
    if (req.protocol_type.empty() || req.protocols.empty()) {
      return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
    }
    g = &get_or_create_group(req.group_id);
  }
  if (g->state == GroupState::kDead) return fail(GroupError::COORDINATOR_NOT_AVAILABLE);
  if (req.member_id.empty()) {
    join_new_member(*g, req, done);
  } else {
    join_known_member(*g, req, done);
  }
}

void GroupCoordinator::join_new_member(Group& g, JoinRequest& req, JoinCallback& done) {
  auto fail = [&](GroupError e) {
    JoinResult r;
    r.error = e;
    reply(std::move(done), std::move(r));
  };
  if (req.group_instance_id) {
    auto it = g.static_members.find(*req.group_instance_id);
    if (it != g.static_members.end()) {
      std::string old_id = it->second;  // copy: the map entry is rewritten
      if (!g.supports(req.protocol_type, req.protocols, g.find(old_id))) {
        return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
      }
      return replace_static_member(g, old_id, req, done);
    }
  }
  if (!g.supports(req.protocol_type, req.protocols, nullptr)) {
    return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
  }
  if (g.members.size() + g.pending.size() >= size_t(cfg_.max_group_size)) {
    return fail(GroupError::GROUP_MAX_SIZE_REACHED);
  }
  std::string id = new_member_id(req.client_id);
  if (!req.group_instance_id && req.require_known_member_id) {
    // KIP-394: hand out the id and wait for the member to come back with it.
    add_pending(g, id, req.session_timeout_ms);
    JoinResult r;
    r.error = GroupError::MEMBER_ID_REQUIRED;
    r.member_id = id;
    reply(std::move(done), std::move(r));
    return;
  }
  add_member_and_rebalance(g, id, req, done);
}

void GroupCoordinator::join_known_member(Group& g, JoinRequest& req, JoinCallback& done) {
  auto fail = [&](GroupError e) {
    JoinResult r;
    r.error = e;
    r.member_id = req.member_id;
    reply(std::move(done), std::move(r));
  };
  if (auto pit = g.pending.find(req.member_id); pit != g.pending.end()) {
    if (!g.supports(req.protocol_type, req.protocols, nullptr)) {
      return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
    }
    pit->second->cancel();
    g.pending.erase(pit);
    if (g.members.size() >= size_t(cfg_.max_group_size)) {
      return fail(GroupError::GROUP_MAX_SIZE_REACHED);
    }
    std::string id = req.member_id;
    return add_member_and_rebalance(g, id, req, done);
  }
  if (auto e = check_member(g, req.member_id, req.group_instance_id); e != GroupError::NONE) {
    return fail(e);
  }
  Member& m = *g.find(req.member_id);
  if (!g.supports(req.protocol_type, req.protocols, &m)) {
    return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
  }
  switch (g.state) {
    case GroupState::kPreparingRebalance:
      update_member(m, req, done);
      maybe_complete_join(g);
      return;
    case GroupState::kCompletingRebalance:
      if (m.protocols == req.protocols) {
        // The member lost our join response: send it again.
        reply(std::move(done), join_result_for(g, m));
      } else {
        update_member(m, req, done);
        prepare_rebalance(g, "member changed its protocols");
      }
      return;
    case GroupState::kStable:
      if (m.id == g.leader || m.protocols != req.protocols) {
        // The leader rejoins to pick up metadata changes; others when their
        // subscription changed.
        update_member(m, req, done);
        prepare_rebalance(g, m.id == g.leader ? "leader rejoined" : "member metadata changed");
      } else {
        arm_session(g, m);
        reply(std::move(done), join_result_for(g, m));
      }
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(GroupError::UNKNOWN_MEMBER_ID);
  }
}

void GroupCoordinator::replace_static_member(Group& g, const std::string& old_id,
                                             JoinRequest& req, JoinCallback& done) {
  auto node = std::move(g.members.at(old_id));
  g.members.erase(old_id);
  // Fence whatever the old incarnation is still waiting for.
  if (node->awaiting_join) {
    JoinResult r;
    r.error = GroupError::FENCED_INSTANCE_ID;
    r.member_id = old_id;
    reply(std::move(node->awaiting_join), std::move(r));
    node->awaiting_join = nullptr;
  }
  if (node->awaiting_sync) {
    SyncResult r;
    r.error = GroupError::FENCED_INSTANCE_ID;
    reply(std::move(node->awaiting_sync), std::move(r));
    node->awaiting_sync = nullptr;
  }
  std::string new_id = new_member_id(req.client_id);
  node->id = new_id;
  node->client_id = req.client_id;
  node->client_host = req.client_host;
  node->session_timeout_ms = req.session_timeout_ms;
  node->rebalance_timeout_ms = req.rebalance_timeout_ms;
  node->protocols = req.protocols;
  Member& m = *node;
  g.members.emplace(new_id, std::move(node));
  g.static_members[*req.group_instance_id] = new_id;
  bool leader = g.leader == old_id;
  if (leader) g.leader = new_id;
  WLOG_INFO("group", "group {}: static member {} replaced {} by {}", g.id, *req.group_instance_id,
            old_id, new_id);

  switch (g.state) {
    case GroupState::kStable:
      if (g.protocol_name && m.metadata_for(*g.protocol_name)) {
        // No rebalance: the new incarnation takes over the old assignment.
        // Stored so that after a restart the new member id is the known one
        // (the old one is fenced either way).
        if (auto st = store_group(g); !st) {
          WLOG_WARN("group", "group {}: cannot store the replaced static member: {}", g.id,
                    st.error().message);
        }
        arm_session(g, m);
        JoinResult r = join_result_for(g, m);
        if (leader) r.skip_assignment = true;
        reply(std::move(done), std::move(r));
        return;
      }
      m.awaiting_join = std::move(done);
      prepare_rebalance(g, "static member rejoined with another protocol");
      return;
    case GroupState::kCompletingRebalance:
      // The old incarnation may already hold an assignment of this generation.
      m.awaiting_join = std::move(done);
      prepare_rebalance(g, "static member rejoined during sync");
      return;
    case GroupState::kPreparingRebalance:
    case GroupState::kEmpty:
    case GroupState::kDead:
      m.awaiting_join = std::move(done);
      maybe_complete_join(g);
      return;
  }
}

void GroupCoordinator::add_member_and_rebalance(Group& g, const std::string& member_id,
                                                JoinRequest& req, JoinCallback& done) {
  auto m = std::make_unique<Member>(io_);
  m->id = member_id;
  m->instance_id = req.group_instance_id;
  m->client_id = req.client_id;
  m->client_host = req.client_host;
  m->session_timeout_ms = req.session_timeout_ms;
  m->rebalance_timeout_ms = req.rebalance_timeout_ms;
  m->protocols = req.protocols;
  m->join_seq = ++join_seq_;
  m->awaiting_join = std::move(done);
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  if (req.group_instance_id) g.static_members[*req.group_instance_id] = member_id;
  g.members.emplace(member_id, std::move(m));
  if (g.leader.empty() || !g.find(g.leader)) g.leader = member_id;
  g.new_member_added = true;
  // No session timer while the member waits in JoinGroup: the rebalance
  // timeout governs it (complete_join arms it).
  if (g.state == GroupState::kPreparingRebalance) {
    maybe_complete_join(g);
  } else {
    prepare_rebalance(g, "new member joined");
  }
}

void GroupCoordinator::update_member(Member& m, JoinRequest& req, JoinCallback& done) {
  if (m.awaiting_join) {
    // A second JoinGroup before the first was answered: the newer one wins.
    JoinResult r;
    r.error = GroupError::REBALANCE_IN_PROGRESS;
    r.member_id = m.id;
    reply(std::move(m.awaiting_join), std::move(r));
  }
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = req.protocols;
  m.awaiting_join = std::move(done);
}

JoinResult GroupCoordinator::join_result_for(const Group& g, const Member& m) const {
  JoinResult r;
  r.generation_id = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader && g.protocol_name) {
    for (auto& [id, other] : g.members) {
      const std::string* md = other->metadata_for(*g.protocol_name);
      r.members.push_back(JoinMember{id, other->instance_id, md ? *md : std::string()});
    }
  }
  return r;
}

// ---------------------------------------------------------------- rebalance

void GroupCoordinator::prepare_rebalance(Group& g, std::string_view reason) {
  if (g.state == GroupState::kCompletingRebalance) fail_syncs(g, GroupError::REBALANCE_IN_PROGRESS);
  bool initial = g.state == GroupState::kEmpty;
  g.state = GroupState::kPreparingRebalance;
  WLOG_DEBUG("group", "group {}: preparing rebalance (generation {}): {}", g.id, g.generation,
             reason);
  int32_t timeout = g.max_rebalance_timeout_ms();
  if (initial) {
    // Wait a little for more members of a new group, extending the wait on
    // each new arrival, bounded by the rebalance timeout.
    g.initial_delay = true;
    g.new_member_added = false;
    int32_t delay = std::min(cfg_.initial_rebalance_delay_ms, timeout);
    g.initial_remaining_ms = std::max(timeout - cfg_.initial_rebalance_delay_ms, 0);
    arm_join_timer(g, delay);
  } else {
    g.initial_delay = false;
    arm_join_timer(g, timeout);
    maybe_complete_join(g);
  }
}

void GroupCoordinator::arm_join_timer(Group& g, int32_t ms) {
  uint64_t epoch = ++g.join_epoch;
  g.join_timer.expires_after(milliseconds(ms));
  g.join_timer.async_wait([this, alive = std::weak_ptr<int>(alive_), gid = g.id,
                           epoch](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    Group* grp = find_group(gid);
    if (!grp || grp->join_epoch != epoch || grp->state != GroupState::kPreparingRebalance) return;
    on_join_timer(*grp);
  });
}

void GroupCoordinator::on_join_timer(Group& g) {
  if (g.initial_delay && g.new_member_added && g.initial_remaining_ms > 0) {
    int32_t delay = std::min(cfg_.initial_rebalance_delay_ms, g.initial_remaining_ms);
    g.initial_remaining_ms -= delay;
    g.new_member_added = false;
    arm_join_timer(g, delay);
    return;
  }
  complete_join(g);
}

void GroupCoordinator::maybe_complete_join(Group& g) {
  if (g.state == GroupState::kPreparingRebalance && !g.initial_delay && g.all_joined()) {
    complete_join(g);
  }
}

void GroupCoordinator::complete_join(Group& g) {
  g.join_timer.cancel();
  ++g.join_epoch;
  g.initial_delay = false;
  // Members that did not rejoin in time are out.
  std::vector<std::string> gone;
  for (auto& [id, m] : g.members) {
    if (!m->awaiting_join) gone.push_back(id);
  }
  for (auto& id : gone) {
    WLOG_INFO("group", "group {}: member {} did not rejoin in time; removed", g.id, id);
    Member& m = *g.members.at(id);
    m.session_timer.cancel();
    if (m.instance_id) {
      auto it = g.static_members.find(*m.instance_id);
      if (it != g.static_members.end() && it->second == id) g.static_members.erase(it);
    }
    g.members.erase(id);
  }
  ++g.generation;
  if (g.members.empty()) {
    g.state = GroupState::kEmpty;
    g.protocol_name.reset();
    g.leader.clear();
    WLOG_INFO("group", "group {}: generation {} is empty", g.id, g.generation);
    if (auto st = store_group(g); !st) {
      // Nobody waits for this; a restart would bring back the last stored state.
      WLOG_ERROR("group", "group {}: cannot store the empty group: {}", g.id, st.error().message);
    }
    return;
  }
  if (!g.find(g.leader)) g.leader = g.earliest()->id;
  g.protocol_name = g.select_protocol();
  // Every join was checked against all members, so a common protocol exists.
  assert(g.protocol_name && "no common protocol after join validation");
  g.state = GroupState::kCompletingRebalance;
  for (auto& [id, m] : g.members) m->assignment.clear();
  WLOG_INFO("group", "group {}: generation {} with {} members, leader {}, protocol {}", g.id,
            g.generation, g.members.size(), g.leader, g.protocol_name.value_or(""));
  for (auto& [id, m] : g.members) {
    JoinResult r = join_result_for(g, *m);
    reply(std::move(m->awaiting_join), std::move(r));
    m->awaiting_join = nullptr;
    arm_session(g, *m);
  }
}

void GroupCoordinator::fail_syncs(Group& g, GroupError e) {
  for (auto& [id, m] : g.members) {
    m->assignment.clear();
    if (m->awaiting_sync) {
      SyncResult r;
      r.error = e;
      reply(std::move(m->awaiting_sync), std::move(r));
      m->awaiting_sync = nullptr;
    }
  }
}

void GroupCoordinator::remove_member(Group& g, const std::string& member_id,
                                     GroupError reply_error, std::string_view reason) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = *it->second;
  WLOG_INFO("group", "group {}: removing member {}: {}", g.id, member_id, reason);
  if (m.awaiting_join) {
    JoinResult r;
    r.error = reply_error;
    r.member_id = member_id;
    reply(std::move(m.awaiting_join), std::move(r));
  }
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = reply_error;
    reply(std::move(m.awaiting_sync), std::move(r));
  }
  m.session_timer.cancel();
  if (m.instance_id) {
    auto sit = g.static_members.find(*m.instance_id);
    if (sit != g.static_members.end() && sit->second == member_id) g.static_members.erase(sit);
  }
  g.members.erase(it);
  if (g.leader == member_id) g.leader.clear();
  switch (g.state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      prepare_rebalance(g, reason);
      break;
    case GroupState::kPreparingRebalance:
      maybe_complete_join(g);
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
}

// ---------------------------------------------------------------- timers

void GroupCoordinator::arm_session(Group& g, Member& m) {
  uint64_t epoch = ++m.session_epoch;
  m.session_timer.expires_after(milliseconds(m.session_timeout_ms));
  m.session_timer.async_wait([this, alive = std::weak_ptr<int>(alive_), gid = g.id, mid = m.id,
                              epoch](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    Group* grp = find_group(gid);
    if (!grp) return;
    Member* mem = grp->find(mid);
    if (!mem || mem->session_epoch != epoch) return;
    on_session_expired(*grp, *mem);
  });
}

void GroupCoordinator::on_session_expired(Group& g, Member& m) {
  if (m.awaiting_join || m.awaiting_sync) {
    // Waiting on the rebalance is not a missed heartbeat.
    arm_session(g, m);
    return;
  }
  std::string id = m.id;  // m dies in remove_member
  remove_member(g, id, GroupError::UNKNOWN_MEMBER_ID, "session timeout expired");
}

void GroupCoordinator::add_pending(Group& g, const std::string& member_id,
                                   int32_t session_timeout_ms) {
  auto timer = std::make_unique<asio::steady_timer>(io_, milliseconds(session_timeout_ms));
  timer->async_wait([this, alive = std::weak_ptr<int>(alive_), gid = g.id,
                     mid = member_id](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    Group* grp = find_group(gid);
    if (!grp || !grp->pending.erase(mid)) return;
    WLOG_DEBUG("group", "group {}: pending member {} never rejoined", gid, mid);
    maybe_complete_join(*grp);
  });
  g.pending[member_id] = std::move(timer);
}

// ---------------------------------------------------------------- sync / heartbeat / leave

void GroupCoordinator::sync(SyncRequest req, SyncCallback done) {
  auto fail = [&](GroupError e) {
    SyncResult r;
    r.error = e;
    reply(std::move(done), std::move(r));
  };
  if (auto e = check_common(req.group_id); e != GroupError::NONE) return fail(e);
  Group* g = find_group(req.group_id);
  if (!g) return fail(GroupError::UNKNOWN_MEMBER_ID);
  if (auto e = check_member(*g, req.member_id, req.group_instance_id); e != GroupError::NONE) {
    return fail(e);
  }
  if (req.generation_id != g->generation) return fail(GroupError::ILLEGAL_GENERATION);
  if ((req.protocol_type && *req.protocol_type != g->protocol_type) ||
      (req.protocol_name && req.protocol_name != g->protocol_name)) {
    return fail(GroupError::INCONSISTENT_GROUP_PROTOCOL);
  }
  Member& m = *g->find(req.member_id);
  switch (g->state) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(GroupError::UNKNOWN_MEMBER_ID);
    case GroupState::kPreparingRebalance:
      return fail(GroupError::REBALANCE_IN_PROGRESS);
    case GroupState::kStable: {
      arm_session(*g, m);
      SyncResult r{GroupError::NONE, g->protocol_type, g->protocol_name, m.assignment};
      reply(std::move(done), std::move(r));
      return;
    }
    case GroupState::kCompletingRebalance:
      break;
  }
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = GroupError::REBALANCE_IN_PROGRESS;
    reply(std::move(m.awaiting_sync), std::move(r));
  }
  m.awaiting_sync = std::move(done);
  arm_session(*g, m);
  if (m.id != g->leader) return;  // followers wait for the leader's assignments
  for (auto& [id, mem] : g->members) mem->assignment.clear();
  for (auto& a : req.assignments) {
    if (Member* target = g->find(a.member_id)) target->assignment = std::move(a.assignment);
  }
  g->state = GroupState::kStable;
  if (auto st = store_group(*g); !st) {
    // As Kafka: assignments are handed out only once stored; the members
    // learn of the failure and rejoin.
    WLOG_ERROR("group", "group {}: cannot store generation {}: {}", g->id, g->generation,
               st.error().message);
    fail_syncs(*g, st.code() == Errc::kMessageTooLarge ? GroupError::UNKNOWN_SERVER_ERROR
                                                       : GroupError::COORDINATOR_NOT_AVAILABLE);
    prepare_rebalance(*g, "group metadata could not be stored");
    return;
  }
  WLOG_DEBUG("group", "group {}: generation {} stable", g->id, g->generation);
  for (auto& [id, mem] : g->members) {
    if (!mem->awaiting_sync) continue;
    SyncResult r{GroupError::NONE, g->protocol_type, g->protocol_name, mem->assignment};
    reply(std::move(mem->awaiting_sync), std::move(r));
    mem->awaiting_sync = nullptr;
  }
}

GroupError GroupCoordinator::heartbeat(std::string_view group_id, int32_t generation_id,
                                       std::string_view member_id,
                                       const std::optional<std::string>& instance_id) {
  if (auto e = check_common(group_id); e != GroupError::NONE) return e;
  Group* g = find_group(group_id);
  if (!g) return GroupError::UNKNOWN_MEMBER_ID;
  if (auto e = check_member(*g, member_id, instance_id); e != GroupError::NONE) return e;
  if (generation_id != g->generation) return GroupError::ILLEGAL_GENERATION;
  Member& m = *g->find(member_id);
  switch (g->state) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return GroupError::UNKNOWN_MEMBER_ID;
    case GroupState::kPreparingRebalance:
      arm_session(*g, m);
      return GroupError::REBALANCE_IN_PROGRESS;
    case GroupState::kCompletingRebalance:
    case GroupState::kStable:
      arm_session(*g, m);
      return GroupError::NONE;
  }
  return GroupError::UNKNOWN_SERVER_ERROR;
}

LeaveResult GroupCoordinator::leave(std::string_view group_id,
                                    const std::vector<MemberRef>& members) {
  LeaveResult res;
  if (auto e = check_common(group_id); e != GroupError::NONE) {
    res.error = e;
    for (auto& ref : members) res.members.emplace_back(ref, e);
    return res;
  }
  Group* g = find_group(group_id);
  for (auto& ref : members) {
    GroupError e = GroupError::NONE;
    std::string target;
    if (!g) {
      e = GroupError::UNKNOWN_MEMBER_ID;
    } else if (ref.group_instance_id) {
      auto it = g->static_members.find(*ref.group_instance_id);
      if (it == g->static_members.end()) {
        e = GroupError::UNKNOWN_MEMBER_ID;
      } else if (!ref.member_id.empty() && ref.member_id != it->second) {
        e = GroupError::FENCED_INSTANCE_ID;
      } else {
        target = it->second;
      }
    } else if (auto pit = g->pending.find(ref.member_id); pit != g->pending.end()) {
      pit->second->cancel();
      g->pending.erase(pit);
      maybe_complete_join(*g);
    } else if (!g->find(ref.member_id)) {
      e = GroupError::UNKNOWN_MEMBER_ID;
    } else {
      target = ref.member_id;
    }
    if (!target.empty()) remove_member(*g, target, GroupError::UNKNOWN_MEMBER_ID, "left the group");
    res.members.emplace_back(ref, e);
  }
  return res;
}

// ---------------------------------------------------------------- offsets

void GroupCoordinator::commit_offsets(CommitRequest req, CommitCallback done) {
  CommitResult res;
  res.partitions.reserve(req.partitions.size());
  for (auto& p : req.partitions) res.partitions.push_back({p.topic, p.partition, GroupError::NONE});
  auto fail = [&](GroupError e) {
    res.error = e;
    for (auto& p : res.partitions) p.error = e;
    reply(std::move(done), std::move(res));
  };
  if (auto e = check_common(req.group_id); e != GroupError::NONE) return fail(e);
  Group* g = find_group(req.group_id);
  if (!g) {
    // Only a standalone consumer (no group management) may create a group by committing.
    if (req.generation_id >= 0) return fail(GroupError::ILLEGAL_GENERATION);
    g = &get_or_create_group(req.group_id);
  } else if (g->state == GroupState::kDead) {
    return fail(GroupError::COORDINATOR_NOT_AVAILABLE);
  } else if (req.generation_id < 0 && g->state == GroupState::kEmpty) {
    // Simple commit on a group without members.
  } else {
    if (auto e = check_member(*g, req.member_id, req.group_instance_id); e != GroupError::NONE) {
      return fail(e);
    }
    if (req.generation_id != g->generation) return fail(GroupError::ILLEGAL_GENERATION);
    // As Kafka: members of the current generation may commit while the next
    // rebalance is being prepared (eager consumers commit before revoking),
    // but not between JoinGroup and SyncGroup.
    if (g->state == GroupState::kCompletingRebalance) {
      return fail(GroupError::REBALANCE_IN_PROGRESS);
    }
    arm_session(*g, *g->find(req.member_id));
  }
  OffsetLog* log = offset_log(group_bucket(req.group_id));
  assert(log && "owned bucket without an offset log");
  for (size_t i = 0; i < req.partitions.size(); ++i) {
    auto& p = req.partitions[i];
    if (p.metadata && p.metadata->size() > size_t(cfg_.offset_metadata_max_bytes)) {
      res.partitions[i].error = GroupError::OFFSET_METADATA_TOO_LARGE;
      continue;
    }
    if (p.topic.empty() || p.topic.size() > kMaxNameLength || p.partition < 0) {
      res.partitions[i].error = GroupError::UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    OffsetValue v{p.offset, p.leader_epoch, p.metadata.value_or(""), 0};
    if (auto st = log->put(req.group_id, p.topic, p.partition, std::move(v)); !st) {
      WLOG_ERROR("group", "group {}: offset commit failed: {}", req.group_id, st.error().message);
      res.partitions[i].error = GroupError::UNKNOWN_SERVER_ERROR;
    }
  }
  reply(std::move(done), std::move(res));
}

FetchOffsetsResult GroupCoordinator::fetch_offsets(
    std::string_view group_id, const std::optional<std::vector<FetchTopic>>& topics) const {
  FetchOffsetsResult res;
  GroupError e = check_common(group_id);
  const GroupOffsets* offsets = nullptr;
  if (e == GroupError::NONE) {
    if (OffsetLog* log = offset_log(group_bucket(group_id))) offsets = log->find(group_id);
  }
  res.error = e;
  if (!topics) {
    if (!offsets) return res;
    for (auto& [key, v] : *offsets) {
      if (res.topics.empty() || res.topics.back().topic != key.first) {
        res.topics.push_back(FetchedTopic{key.first, {}});
      }
      res.topics.back().partitions.push_back(
          FetchedPartition{key.second, v.offset, v.leader_epoch, v.metadata, GroupError::NONE});
    }
    return res;
  }
  for (auto& t : *topics) {
    FetchedTopic ft{t.topic, {}};
    for (int32_t p : t.partitions) {
      FetchedPartition fp;
      fp.partition = p;
      fp.error = e;
      if (offsets) {
        auto it = offsets->find(std::make_pair(t.topic, p));
        if (it != offsets->end()) {
          fp.offset = it->second.offset;
          fp.leader_epoch = it->second.leader_epoch;
          fp.metadata = it->second.metadata;
        }
      }
      ft.partitions.push_back(std::move(fp));
    }
    res.topics.push_back(std::move(ft));
  }
  return res;
}

// ---------------------------------------------------------------- admin

std::vector<GroupListing> GroupCoordinator::list_groups() const {
  std::vector<GroupListing> out;
  if (phase_ != Phase::kActive) return out;
  for (auto& [id, g] : groups_) {
    out.push_back(GroupListing{id, g->protocol_type, std::string(group_state_name(g->state))});
  }
  return out;
}

GroupDescription GroupCoordinator::describe_group(std::string_view group_id) const {
  GroupDescription d;
  d.group_id = std::string(group_id);
  d.error = check_common(group_id);
  Group* g = d.error == GroupError::NONE ? find_group(group_id) : nullptr;
  if (!g) {
    d.state = d.error == GroupError::NONE ? "Dead" : "";
    return d;
  }
  d.state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  bool stable = g->state == GroupState::kStable;
  if (stable && g->protocol_name) d.protocol_name = *g->protocol_name;
  for (auto& [id, m] : g->members) {
    DescribedMember dm{id, m->instance_id, m->client_id, m->client_host, {}, {}};
    if (stable && g->protocol_name) {
      if (const std::string* md = m->metadata_for(*g->protocol_name)) dm.metadata = *md;
      dm.assignment = m->assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

GroupError GroupCoordinator::delete_group(std::string_view group_id) {
  if (auto e = check_common(group_id); e != GroupError::NONE) return e;
  Group* g = find_group(group_id);
  OffsetLog* log = offset_log(group_bucket(group_id));
  bool has_offsets = log && log->find(group_id);
  if (!g && !has_offsets) return GroupError::GROUP_ID_NOT_FOUND;
  if (g && g->state != GroupState::kEmpty && g->state != GroupState::kDead) {
    return GroupError::NON_EMPTY_GROUP;
  }
  if (log) {
    if (auto st = log->delete_group(group_id); !st) {
      WLOG_ERROR("group", "group {}: delete failed: {}", group_id, st.error().message);
      return GroupError::UNKNOWN_SERVER_ERROR;
    }
  }
  if (g) groups_.erase(groups_.find(group_id));  // its timers die with it
  WLOG_INFO("group", "group {} deleted", group_id);
  return GroupError::NONE;
}

}  // namespace wharf::broker::group
