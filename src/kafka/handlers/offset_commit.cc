// OffsetCommit (key 8). Partitions of unknown topics are answered with
// UNKNOWN_TOPIC_OR_PARTITION here; the rest go to the group's coordinator.
#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/offset_commit.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::OffsetCommitRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto& b = req->broker();
  msg::OffsetCommitResponse resp;
  g::CommitRequest cr;
  cr.group_id = r.group_id;
  cr.generation_id = req->api_version >= 1 ? r.generation_id_or_member_epoch : -1;
  cr.member_id = r.member_id;
  cr.group_instance_id = r.group_instance_id;
  struct Slot { size_t ti, pi; };
  std::vector<Slot> slots;
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    auto& t = r.topics[ti];
    resp.topics.push_back({t.name, {}});
    auto info = b.topics().find(t.name);
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& p = t.partitions[pi];
      resp.topics[ti].partitions.push_back({p.partition_index, 0});
      if (!info || p.partition_index < 0 || p.partition_index >= info->partitions) {
        resp.topics[ti].partitions[pi].error_code = 3;
        continue;
      }
      cr.partitions.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.committed_metadata});
      slots.push_back({ti, pi});
    }
  }
  if (cr.partitions.empty() && r.group_id.empty() == false && slots.empty() && !r.topics.empty()) {
    return respond(req, resp);
  }
  auto shared = std::make_shared<msg::OffsetCommitResponse>(std::move(resp));
  with_group_async<g::CommitResult>(
      req, r.group_id,
      [cr = std::move(cr)](g::GroupCoordinator& c, auto done) mutable { c.commit_offsets(std::move(cr), std::move(done)); },
      [req, shared, slots = std::move(slots)](g::CommitResult res) {
        for (size_t i = 0; i < slots.size(); ++i) {
          int16_t e = i < res.partitions.size() ? code(res.partitions[i].error) : code(res.error);
          if (e == 0) e = code(res.error);
          shared->topics[slots[i].ti].partitions[slots[i].pi].error_code = e;
        }
        respond(req, *shared);
      });
}

}  // namespace

extern const Handler kOffsetCommitHandler{msg::OffsetCommitRequest::kApiKey, 0, 8, &handle};

}  // namespace wharf::kafka
