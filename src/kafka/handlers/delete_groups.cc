// DeleteGroups (key 42): removes empty groups and their committed offsets.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/delete_groups.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

void handle(const RequestPtr& req) {
  msg::DeleteGroupsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  struct Pending {
    RequestPtr req;
    msg::DeleteGroupsResponse resp;
    size_t left;
  };
  auto p = std::make_shared<Pending>(Pending{req, {}, r.groups_names.size()});
  p->resp.results.resize(r.groups_names.size());
  if (r.groups_names.empty()) return respond(req, p->resp);
  for (size_t i = 0; i < r.groups_names.size(); ++i) {
    auto id = r.groups_names[i];
    with_group(
        req, id, [id](g::GroupCoordinator& c) { return c.delete_group(id); },
        [p, i, id](g::GroupError e) {
          p->resp.results[i] = {id, code(e)};
          if (--p->left == 0) respond(p->req, p->resp);
        });
  }
}

}  // namespace

extern const Handler kDeleteGroupsHandler{msg::DeleteGroupsRequest::kApiKey, 0, 2, &handle};

}  // namespace wharf::kafka
