// LeaveGroup (key 13): one member (v0-2) or a batch (v3+).
#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/leave_group.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::LeaveGroupRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  std::vector<g::MemberRef> members;
  if (req->api_version < 3) members.push_back({r.member_id, std::nullopt});
  for (auto& m : r.members) members.push_back({m.member_id, m.group_instance_id});
  int16_t version = req->api_version;
  with_group(
      req, r.group_id, [group = r.group_id, members](g::GroupCoordinator& c) { return c.leave(group, members); },
      [req, version](g::LeaveResult res) {
        msg::LeaveGroupResponse resp;
        resp.error_code = code(res.error);
        if (version < 3) {
          if (resp.error_code == 0 && !res.members.empty()) resp.error_code = code(res.members[0].second);
        } else {
          for (auto& [m, e] : res.members) resp.members.push_back({m.member_id, m.group_instance_id, code(e)});
        }
        respond(req, resp);
      });
}

}  // namespace

extern const Handler kLeaveGroupHandler{msg::LeaveGroupRequest::kApiKey, 0, 5, &handle};

}  // namespace wharf::kafka
