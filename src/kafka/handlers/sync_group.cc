// SyncGroup (key 14).
#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/sync_group.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::SyncGroupRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  g::SyncRequest sr;
  sr.group_id = r.group_id;
  sr.generation_id = r.generation_id;
  sr.member_id = r.member_id;
  sr.group_instance_id = r.group_instance_id;
  sr.protocol_type = r.protocol_type;
  sr.protocol_name = r.protocol_name;
  for (auto& a : r.assignments) sr.assignments.push_back({a.member_id, to_str(a.assignment)});
  with_group_async<g::SyncResult>(
      req, r.group_id, [sr = std::move(sr)](g::GroupCoordinator& c, auto done) mutable { c.sync(std::move(sr), std::move(done)); },
      [req](g::SyncResult res) {
        msg::SyncGroupResponse resp;
        resp.error_code = code(res.error);
        resp.protocol_type = res.protocol_type;
        resp.protocol_name = res.protocol_name;
        resp.assignment = to_bytes(res.assignment);
        respond(req, resp);
      });
}

}  // namespace

extern const Handler kSyncGroupHandler{msg::SyncGroupRequest::kApiKey, 0, 5, &handle};

}  // namespace wharf::kafka
