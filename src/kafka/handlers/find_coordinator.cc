// FindCoordinator (key 10): this broker coordinates every group (and, later,
// every transactional id). v4 asks for several keys at once.
#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/find_coordinator.h"

namespace wharf::kafka {

namespace {

void handle(const RequestPtr& req) {
  msg::FindCoordinatorRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  msg::FindCoordinatorResponse resp;
  int32_t node = req->broker().config().node_id;
  std::string host = advertised_host(req);
  if (req->api_version >= 4) {
    for (auto& k : r.coordinator_keys) {
      msg::FindCoordinatorResponse::Coordinator c;
      c.key = k;
      c.node_id = node;
      c.host = host;
      c.port = req->port();
      resp.coordinators.push_back(std::move(c));
    }
  } else {
    resp.node_id = node;
    resp.host = host;
    resp.port = req->port();
  }
  respond(req, resp);
}

}  // namespace

extern const Handler kFindCoordinatorHandler{msg::FindCoordinatorRequest::kApiKey, 0, 4, &handle};

}  // namespace wharf::kafka
