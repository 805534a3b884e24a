// DeleteTopics (key 20): by name (v0-5) or by name/id (v6).
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/delete_topics.h"

namespace wharf::kafka {

namespace {

struct Pending {
  RequestPtr req;
  msg::DeleteTopicsResponse resp;
  int left = 1;
};

void handle(const RequestPtr& req) {
  msg::DeleteTopicsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto p = std::make_shared<Pending>();
  p->req = req;
  auto& b = req->broker();
  std::vector<std::string> names = r.topic_names;
  for (auto& t : r.topics) {
    if (t.name) { names.push_back(*t.name); continue; }
    std::string found;
    for (auto& info : b.topics().list())
      if (std::equal(info->id.begin(), info->id.end(), t.topic_id.bytes.begin())) found = info->name;
    names.push_back(found);
  }
  p->resp.responses.resize(names.size());
  auto done_one = [p] {
    if (--p->left == 0) respond(p->req, p->resp);
  };
  for (size_t i = 0; i < names.size(); ++i) {
    auto& out = p->resp.responses[i];
    out.name = names[i];
    auto info = b.topics().find(names[i]);
    if (!info) { out.error_code = names[i].empty() ? 100 /* UNKNOWN_TOPIC_ID */ : 3; continue; }
    std::copy(info->id.begin(), info->id.end(), out.topic_id.bytes.begin());
    ++p->left;
    b.delete_topic(names[i], [p, i, done_one](status st) {
      if (!st.ok()) p->resp.responses[i].error_code = 3;
      done_one();
    });
  }
  done_one();
}

}  // namespace

extern const Handler kDeleteTopicsHandler{msg::DeleteTopicsRequest::kApiKey, 0, 6, &handle};

}  // namespace wharf::kafka
