// JoinGroup (key 11).
#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/join_group.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::JoinGroupRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  g::JoinRequest jr;
  jr.group_id = r.group_id;
  jr.member_id = r.member_id;
  jr.group_instance_id = r.group_instance_id;
  jr.session_timeout_ms = r.session_timeout_ms;
  jr.rebalance_timeout_ms = req->api_version >= 1 ? r.rebalance_timeout_ms : -1;
  jr.protocol_type = r.protocol_type;
  for (auto& p : r.protocols) jr.protocols.push_back({p.name, to_str(p.metadata)});
  jr.client_id = req->client_id.value_or("");
  jr.client_host = "/" + req->client_host();
  jr.require_known_member_id = req->api_version >= 4;
  int16_t version = req->api_version;
  with_group_async<g::JoinResult>(
      req, r.group_id, [jr = std::move(jr)](g::GroupCoordinator& c, auto done) mutable { c.join(std::move(jr), std::move(done)); },
      [req, version](g::JoinResult res) {
        msg::JoinGroupResponse resp;
        resp.error_code = code(res.error);
        resp.generation_id = res.generation_id;
        resp.protocol_type = res.protocol_type;
        resp.protocol_name = res.protocol_name;
        if (version < 7 && !resp.protocol_name) resp.protocol_name = "";  // not nullable before v7
        resp.leader = res.leader;
        resp.member_id = res.member_id;
        resp.skip_assignment = res.skip_assignment;
        if (!(res.skip_assignment && version < 9))
          for (auto& m : res.members) resp.members.push_back({m.member_id, m.instance_id, to_bytes(m.metadata)});
        respond(req, resp);
      });
}

}  // namespace

extern const Handler kJoinGroupHandler{msg::JoinGroupRequest::kApiKey, 0, 9, &handle};

}  // namespace wharf::kafka
