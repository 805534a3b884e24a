// CreatePartitions (key 37): raises a topic's partition count.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/create_partitions.h"

namespace wharf::kafka {

namespace {

struct Pending {
  RequestPtr req;
  msg::CreatePartitionsResponse resp;
  int left = 1;
};

void handle(const RequestPtr& req) {
  msg::CreatePartitionsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto p = std::make_shared<Pending>();
  p->req = req;
  auto& b = req->broker();
  p->resp.results.resize(r.topics.size());
  auto done_one = [p] {
    if (--p->left == 0) respond(p->req, p->resp);
  };
  for (size_t i = 0; i < r.topics.size(); ++i) {
    auto& t = r.topics[i];
    auto& out = p->resp.results[i];
    out.name = t.name;
    auto info = b.topics().find(t.name);
    if (!info) { out.error_code = 3; out.error_message = "unknown topic"; continue; }
    if (t.count <= info->partitions) {
      out.error_code = 37;  // INVALID_PARTITIONS
      out.error_message = "topic has " + std::to_string(info->partitions) + " partitions";
      continue;
    }
    if (r.validate_only) continue;
    ++p->left;
    b.create_partitions(t.name, t.count, [p, i, done_one](result<std::shared_ptr<const broker::TopicInfo>> res) {
      if (!res.ok()) {
        p->resp.results[i].error_code = 37;
        p->resp.results[i].error_message = res.error().message;
      }
      done_one();
    });
  }
  done_one();
}

}  // namespace

extern const Handler kCreatePartitionsHandler{msg::CreatePartitionsRequest::kApiKey, 0, 3, &handle};

}  // namespace wharf::kafka
