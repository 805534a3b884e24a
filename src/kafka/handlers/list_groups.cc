// ListGroups (key 16): every shard's coordinator lists its groups.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/list_groups.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::ListGroupsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto& b = req->broker();
  struct Pending {
    RequestPtr req;
    msg::ListGroupsRequest r;
    msg::ListGroupsResponse resp;
    unsigned left;
  };
  auto p = std::make_shared<Pending>(Pending{req, std::move(r), {}, b.shards().count()});
  for (unsigned s = 0; s < b.shards().count(); ++s) {
    b.shards().call(
        ShardId(s), [&b] { return b.groups().list_groups(); },
        [p](std::vector<g::GroupListing> groups) {
          for (auto& gl : groups) {
            auto& sf = p->r.states_filter;
            if (!sf.empty() && std::find(sf.begin(), sf.end(), gl.state) == sf.end()) continue;
            p->resp.groups.push_back({gl.group_id, gl.protocol_type, gl.state, "classic"});
          }
          if (--p->left == 0) respond(p->req, p->resp);
        });
  }
}

}  // namespace

extern const Handler kListGroupsHandler{msg::ListGroupsRequest::kApiKey, 0, 4, &handle};

}  // namespace wharf::kafka
