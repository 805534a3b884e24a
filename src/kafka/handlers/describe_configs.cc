// DescribeConfigs (key 32): topic (resource type 2) and broker (4) configs.
#include <map>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/describe_configs.h"

namespace wharf::kafka {

namespace {

using Result = msg::DescribeConfigsResponse::DescribeConfigsResult;
using Entry = msg::DescribeConfigsResponse::DescribeConfigsResourceResult;

// config_source: 1 topic override, 4 static broker config, 5 default.
constexpr int8_t kTopicOverride = 1, kStaticBroker = 4, kDefault = 5;
// config_type (v3+): 1 boolean, 2 string, 3 int, 4 short, 5 long, 6 double, 7 list.
constexpr int8_t kTypeString = 2, kTypeInt = 3, kTypeLong = 5, kTypeList = 7;

void add(Result& res, const std::optional<std::vector<std::string>>& keys, int16_t version, const std::string& name,
         const std::string& value, int8_t source, int8_t type) {
  if (keys && std::find(keys->begin(), keys->end(), name) == keys->end()) return;
  Entry e;
  e.name = name;
  e.value = value;
  e.read_only = false;
  e.is_default = source == kDefault;
  e.config_source = source;
  e.config_type = type;
  res.configs.push_back(std::move(e));
}

void handle(const RequestPtr& req) {
  msg::DescribeConfigsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto& b = req->broker();
  auto& bc = b.config();
  msg::DescribeConfigsResponse resp;
  for (auto& res_req : r.resources) {
    Result res;
    res.resource_type = res_req.resource_type;
    res.resource_name = res_req.resource_name;
    auto& keys = res_req.configuration_keys;
    if (res_req.resource_type == 2) {
      auto t = b.topics().find(res_req.resource_name);
      if (!t) {
        res.error_code = 3;
        res.error_message = "unknown topic";
      } else {
        auto src = [&](const char* k) { return t->configs.count(k) ? kTopicOverride : kDefault; };
        auto val = [&](const char* k, const std::string& def) {
          auto it = t->configs.find(k);
          return it == t->configs.end() ? def : it->second;
        };
        add(res, keys, req->api_version, "cleanup.policy", val("cleanup.policy", "delete"), src("cleanup.policy"), kTypeList);
        add(res, keys, req->api_version, "retention.ms", std::to_string(t->log.retention_ms), src("retention.ms"), kTypeLong);
        add(res, keys, req->api_version, "retention.bytes", std::to_string(t->log.retention_bytes), src("retention.bytes"), kTypeLong);
        add(res, keys, req->api_version, "segment.bytes", std::to_string(t->log.segment_bytes), src("segment.bytes"), kTypeInt);
        add(res, keys, req->api_version, "segment.ms", std::to_string(t->log.segment_ms), src("segment.ms"), kTypeLong);
        add(res, keys, req->api_version, "index.interval.bytes", std::to_string(t->log.index_interval_bytes), src("index.interval.bytes"), kTypeInt);
        add(res, keys, req->api_version, "max.message.bytes", std::to_string(t->max_message_bytes), src("max.message.bytes"), kTypeInt);
        add(res, keys, req->api_version, "message.timestamp.type", val("message.timestamp.type", "CreateTime"), src("message.timestamp.type"), kTypeString);
        add(res, keys, req->api_version, "compression.type", val("compression.type", "producer"), src("compression.type"), kTypeString);
        add(res, keys, req->api_version, "min.insync.replicas", val("min.insync.replicas", "1"), src("min.insync.replicas"), kTypeInt);
      }
    } else if (res_req.resource_type == 4) {
      add(res, keys, req->api_version, "broker.id", std::to_string(bc.node_id), kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "num.partitions", std::to_string(bc.default_partitions), kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "auto.create.topics.enable", bc.auto_create_topics ? "true" : "false", kStaticBroker, 1);
      add(res, keys, req->api_version, "log.retention.ms", std::to_string(bc.log.retention_ms), kStaticBroker, kTypeLong);
      add(res, keys, req->api_version, "log.retention.bytes", std::to_string(bc.log.retention_bytes), kStaticBroker, kTypeLong);
      add(res, keys, req->api_version, "log.segment.bytes", std::to_string(bc.log.segment_bytes), kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "message.max.bytes", std::to_string(bc.max_message_bytes), kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "socket.request.max.bytes", std::to_string(req->config().max_request_bytes), kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "default.replication.factor", "1", kStaticBroker, kTypeInt);
      add(res, keys, req->api_version, "offsets.topic.replication.factor", "1", kStaticBroker, 4);
      add(res, keys, req->api_version, "log.dirs", bc.data_dir, kStaticBroker, kTypeString);
    } else {
      res.error_code = 42;  // INVALID_REQUEST
      res.error_message = "unsupported resource type";
    }
    resp.results.push_back(std::move(res));
  }
  respond(req, resp);
}

}  // namespace

extern const Handler kDescribeConfigsHandler{msg::DescribeConfigsRequest::kApiKey, 0, 4, &handle};

}  // namespace wharf::kafka
