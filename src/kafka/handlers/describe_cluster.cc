// DescribeCluster (key 60): this broker is the whole cluster and its controller.
#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/describe_cluster.h"

namespace wharf::kafka {

namespace {

void handle(const RequestPtr& req) {
  msg::DescribeClusterRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  msg::DescribeClusterResponse resp;
  int32_t node = req->broker().config().node_id;
  resp.cluster_id = "wharf-cluster";
  resp.controller_id = node;
  resp.brokers.push_back({node, advertised_host(req), req->port(), std::nullopt});
  respond(req, resp);
}

}  // namespace

extern const Handler kDescribeClusterHandler{msg::DescribeClusterRequest::kApiKey, 0, 0, &handle};

}  // namespace wharf::kafka
