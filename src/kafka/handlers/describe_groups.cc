// DescribeGroups (key 15).
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/describe_groups.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::DescribeGroupsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  struct Pending {
    RequestPtr req;
    msg::DescribeGroupsResponse resp;
    size_t left;
  };
  auto p = std::make_shared<Pending>(Pending{req, {}, r.groups.size()});
  p->resp.groups.resize(r.groups.size());
  if (r.groups.empty()) return respond(req, p->resp);
  for (size_t i = 0; i < r.groups.size(); ++i) {
    auto id = r.groups[i];
    with_group(
        req, id, [id](g::GroupCoordinator& c) { return c.describe_group(id); },
        [p, i](g::GroupDescription d) {
          auto& out = p->resp.groups[i];
          out.error_code = code(d.error);
          out.group_id = d.group_id;
          out.group_state = d.state;
          out.protocol_type = d.protocol_type;
          out.protocol_data = d.protocol_name;
          for (auto& m : d.members)
            out.members.push_back({m.member_id, m.group_instance_id, m.client_id, m.client_host, to_bytes(m.metadata),
                                   to_bytes(m.assignment)});
          if (--p->left == 0) respond(p->req, p->resp);
        });
  }
}

}  // namespace

extern const Handler kDescribeGroupsHandler{msg::DescribeGroupsRequest::kApiKey, 0, 5, &handle};

}  // namespace wharf::kafka
