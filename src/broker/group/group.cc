#include "broker/group/group.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace wharf::broker::group {

std::string_view group_state_name(GroupState s) {
  switch (s) {
    case GroupState::kEmpty: return "Empty";
    case GroupState::kPreparingRebalance: return "PreparingRebalance";
    case GroupState::kCompletingRebalance: return "CompletingRebalance";
    case GroupState::kStable: return "Stable";
    case GroupState::kDead: return "Dead";
  }
  return "Dead";
}

const std::string* Member::metadata_for(std::string_view protocol) const {
  for (auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

Member* Group::find(std::string_view member_id) const {
  auto it = members.find(member_id);
  return it == members.end() ? nullptr : it->second.get();
}

bool Group::all_joined() const {
  if (!pending.empty()) return false;
  return std::all_of(members.begin(), members.end(),
                     [](auto& kv) { return bool(kv.second->awaiting_join); });
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t t = 0;
  for (auto& [id, m] : members) t = std::max(t, m->rebalance_timeout_ms);
  return t;
}

bool Group::supports(std::string_view type, const std::vector<Protocol>& protocols,
                     const Member* self) const {
  if (type.empty() || protocols.empty()) return false;
  bool others = false;
  for (auto& [id, m] : members) others |= m.get() != self;
  if (!others) return true;  // the member would be alone: anything goes
  if (type != protocol_type) return false;
  for (auto& p : protocols) {
    bool everyone = true;
    for (auto& [id, m] : members) {
      if (m.get() != self && !m->metadata_for(p.name)) { everyone = false; break; }
    }
    if (everyone) return true;
  }
  return false;
}

std::optional<std::string> Group::select_protocol() const {
  if (members.empty()) return std::nullopt;
  // Candidates: protocols every member supports.
  std::set<std::string> candidates;
  for (auto& p : members.begin()->second->protocols) candidates.insert(p.name);
  for (auto& [id, m] : members) {
    std::set<std::string> keep;
    for (auto& p : m->protocols) {
      if (candidates.count(p.name)) keep.insert(p.name);
    }
    candidates.swap(keep);
  }
  if (candidates.empty()) return std::nullopt;
  std::map<std::string, int> votes;
  for (auto& [id, m] : members) {
    for (auto& p : m->protocols) {
      if (candidates.count(p.name)) { ++votes[p.name]; break; }
    }
  }
  int best = 0;
  for (auto& [name, n] : votes) best = std::max(best, n);
  // Tie-break by the leader's (else the earliest member's) preference order.
  const Member* ref = find(leader);
  if (!ref) ref = earliest();
  for (auto& p : ref->protocols) {
    auto it = votes.find(p.name);
    if (it != votes.end() && it->second == best) return p.name;
  }
  for (auto& [name, n] : votes) {
    if (n == best) return name;
  }
  return std::nullopt;
}

Member* Group::earliest() const {
  Member* best = nullptr;
  for (auto& [id, m] : members) {
    if (!best || m->join_seq < best->join_seq) best = m.get();
  }
  return best;
}

GroupMetadata Group::snapshot() const {
  assert((state == GroupState::kEmpty || state == GroupState::kStable) &&
         "only Empty and Stable groups are stored");
  GroupMetadata md;
  md.protocol_type = protocol_type;
  md.generation = generation;
  md.protocol_name = protocol_name;
  md.leader = leader;
  md.members.reserve(members.size());
  for (auto& [id, m] : members) {
    md.members.push_back(StoredMember{m->id, m->instance_id, m->client_id, m->client_host,
                                      m->session_timeout_ms, m->rebalance_timeout_ms,
                                      m->protocols, m->assignment});
  }
  return md;
}

}  // namespace wharf::broker::group
