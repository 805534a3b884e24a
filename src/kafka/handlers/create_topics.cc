// CreateTopics (key 19). A single broker holds every replica, so any
// replication factor other than -1 (default) or 1 is refused.
#include <map>
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/create_topics.h"

namespace wharf::kafka {

namespace {

struct Pending {
  RequestPtr req;
  msg::CreateTopicsResponse resp;
  int left = 0;
};

void handle(const RequestPtr& req) {
  msg::CreateTopicsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto p = std::make_shared<Pending>();
  p->req = req;
  auto& b = req->broker();
  p->resp.topics.resize(r.topics.size());
  p->left = 1;
  auto done_one = [p] {
    if (--p->left == 0) respond(p->req, p->resp);
  };
  for (size_t i = 0; i < r.topics.size(); ++i) {
    auto& t = r.topics[i];
    auto& out = p->resp.topics[i];
    out.name = t.name;
    int32_t parts = t.num_partitions == -1 ? b.config().default_partitions : t.num_partitions;
    if (!t.assignments.empty()) parts = int32_t(t.assignments.size());
    std::map<std::string, std::string> configs;
    for (auto& c : t.configs)
      if (c.value) configs[c.name] = *c.value;
    auto fail = [&](int16_t code, std::string m) {
      out.error_code = code;
      out.error_message = std::move(m);
    };
    if (!broker::valid_topic_name(t.name)) { fail(17, "invalid topic name"); continue; }
    if (parts < 1) { fail(37, "number of partitions must be at least 1"); continue; }
    if (t.replication_factor != -1 && t.replication_factor != 1) {
      fail(38, "replication factor " + std::to_string(t.replication_factor) + " larger than available brokers: 1");
      continue;
    }
    if (b.topics().find(t.name)) { fail(36, "topic '" + t.name + "' already exists"); continue; }
    storage::LogConfig lc;
    int32_t mmb;
    auto st = broker::apply_topic_configs(configs, b.config().log, b.config().max_message_bytes, &lc, &mmb);
    if (!st.ok()) { fail(40, st.error().message); continue; }
    out.num_partitions = parts;
    out.replication_factor = 1;
    out.configs = std::vector<msg::CreateTopicsResponse::CreatableTopicConfigs>{};
    for (auto& [k, v] : configs) out.configs->push_back({k, v, false, 1, false});
    if (r.validate_only) continue;
    ++p->left;
    b.create_topic(t.name, parts, configs, [p, i, done_one](result<std::shared_ptr<const broker::TopicInfo>> res) {
      auto& o = p->resp.topics[i];
      if (!res.ok()) {
        o.error_code = res.code() == Errc::kAlreadyExists ? 36 : to_kafka_error(res.code());
        o.error_message = res.error().message;
      } else {
        std::copy((*res)->id.begin(), (*res)->id.end(), o.topic_id.bytes.begin());
      }
      done_one();
    });
  }
  done_one();
}

}  // namespace

extern const Handler kCreateTopicsHandler{msg::CreateTopicsRequest::kApiKey, 0, 7, &handle};

}  // namespace wharf::kafka
