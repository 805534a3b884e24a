// Heartbeat (key 12).
#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/heartbeat.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::HeartbeatRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  with_group(
      req, r.group_id,
      [r](g::GroupCoordinator& c) { return c.heartbeat(r.group_id, r.generation_id, r.member_id, r.group_instance_id); },
      [req](g::GroupError e) {
        msg::HeartbeatResponse resp;
        resp.error_code = code(e);
        respond(req, resp);
      });
}

}  // namespace

extern const Handler kHeartbeatHandler{msg::HeartbeatRequest::kApiKey, 0, 4, &handle};

}  // namespace wharf::kafka
