// ApiVersions (key 18): the version ranges of every API we serve.
#include "kafka/handlers.h"
#include "kafka/protocol/generated/api_versions.h"

namespace wharf::kafka {

namespace {

msg::ApiVersionsResponse supported() {
  msg::ApiVersionsResponse resp;
  for (auto& h : all_handlers())
    resp.api_keys.push_back({h.api_key, h.min_version, h.max_version});
  return resp;
}

void handle(const RequestPtr& req) {
  msg::ApiVersionsRequest r;
  if (!decode(req, r)) {
    // A v3+ body we cannot parse: answer like Kafka, INVALID_REQUEST with the ranges.
    auto resp = supported();
    resp.error_code = 42;
    respond(req, resp);
    return;
  }
  respond(req, supported());
}

}  // namespace

void answer_unsupported_api_versions(const RequestPtr& req) {
  auto resp = supported();
  resp.error_code = 35;  // UNSUPPORTED_VERSION
  req->api_version = 0;
  respond(req, resp);
}

extern const Handler kApiVersionsHandler{msg::ApiVersionsRequest::kApiKey, 0, 3, &handle};

}  // namespace wharf::kafka
