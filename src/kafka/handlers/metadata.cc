// Metadata (key 3): brokers, topics and partition leaders. Unknown topics are
// auto-created (when the broker and, from v4, the request allow it) before
// the answer, so clients see the new topic's partitions at once.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/metadata.h"

namespace wharf::kafka {

namespace {

void fill_topic(const RequestPtr& req, const broker::TopicInfo& t, msg::MetadataResponse::MetadataResponseTopic& out) {
  int32_t node = req->broker().config().node_id;
  out.error_code = 0;
  out.name = t.name;
  std::copy(t.id.begin(), t.id.end(), out.topic_id.bytes.begin());
  out.is_internal = t.internal;
  out.partitions.reserve(size_t(t.partitions));
  for (int32_t p = 0; p < t.partitions; ++p) {
    msg::MetadataResponse::MetadataResponsePartition mp;
    mp.partition_index = p;
    mp.leader_id = node;
    mp.leader_epoch = 0;
    mp.replica_nodes = {node};
    mp.isr_nodes = {node};
    out.partitions.push_back(std::move(mp));
  }
}

struct Pending {
  RequestPtr req;
  msg::MetadataResponse resp;
  std::vector<std::string> names;  // requested names, in order; empty = all
  bool all = false;
  int creating = 0;
};

void finish(const std::shared_ptr<Pending>& p) {
  auto& req = p->req;
  auto& b = req->broker();
  auto& resp = p->resp;
  msg::MetadataResponse::MetadataResponseBroker br;
  br.node_id = b.config().node_id;
  br.host = advertised_host(req);
  br.port = req->port();
  resp.brokers.push_back(br);
  resp.cluster_id = "wharf-cluster";
  resp.controller_id = b.config().node_id;
  if (p->all) {
    for (auto& t : b.topics().list()) {
      resp.topics.emplace_back();
      fill_topic(req, *t, resp.topics.back());
    }
  } else {
    for (auto& name : p->names) {
      resp.topics.emplace_back();
      auto& mt = resp.topics.back();
      mt.name = name;
      if (!broker::valid_topic_name(name)) {
        mt.error_code = 17;  // INVALID_TOPIC_EXCEPTION
      } else if (auto t = b.topics().find(name)) {
        fill_topic(req, *t, mt);
      } else {
        mt.error_code = 3;  // UNKNOWN_TOPIC_OR_PARTITION
      }
    }
  }
  respond(req, resp);
}

void handle(const RequestPtr& req) {
  msg::MetadataRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto p = std::make_shared<Pending>();
  p->req = req;
  // v0: an empty list means all topics; v1+: null means all.
  if (!r.topics || (req->api_version == 0 && r.topics->empty())) {
    p->all = true;
  } else {
    for (auto& t : *r.topics)
      if (t.name) p->names.push_back(*t.name);
  }
  auto& b = req->broker();
  bool may_create = b.config().auto_create_topics && (req->api_version < 4 || r.allow_auto_topic_creation);
  std::vector<std::string> to_create;
  if (may_create)
    for (auto& n : p->names)
      if (broker::valid_topic_name(n) && !b.topics().find(n) &&
          std::find(to_create.begin(), to_create.end(), n) == to_create.end())
        to_create.push_back(n);
  if (to_create.empty()) return finish(p);
  p->creating = int(to_create.size());
  for (auto& n : to_create) {
    b.create_topic(n, b.config().default_partitions, {}, [p](result<std::shared_ptr<const broker::TopicInfo>>) {
      // A concurrent creation (kAlreadyExists) is as good as ours.
      if (--p->creating == 0) finish(p);
    });
  }
}

}  // namespace

extern const Handler kMetadataHandler{msg::MetadataRequest::kApiKey, 0, 12, &handle};

}  // namespace wharf::kafka
