// OffsetFetch (key 9): one group (v0-7) or several (v8+), each answered by
// its own shard's coordinator.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/group_common.h"
#include "kafka/protocol/generated/offset_fetch.h"

namespace wharf::kafka {

namespace {

namespace g = broker::group;

struct Query {
  std::string group_id;
  std::optional<std::vector<g::FetchTopic>> topics;
};

void handle(const RequestPtr& req) {
  msg::OffsetFetchRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  std::vector<Query> queries;
  if (req->api_version >= 8) {
    for (auto& gr : r.groups) {
      Query q{gr.group_id, std::nullopt};
      if (gr.topics) {
        q.topics.emplace();
        for (auto& t : *gr.topics) q.topics->push_back({t.name, t.partition_indexes});
      }
      queries.push_back(std::move(q));
    }
  } else {
    Query q{r.group_id, std::nullopt};
    if (r.topics) {
      q.topics.emplace();
      for (auto& t : *r.topics) q.topics->push_back({t.name, t.partition_indexes});
    }
    queries.push_back(std::move(q));
  }
  struct Pending {
    RequestPtr req;
    std::vector<g::FetchOffsetsResult> results;
    int left;
  };
  auto p = std::make_shared<Pending>(Pending{req, std::vector<g::FetchOffsetsResult>(queries.size()), int(queries.size())});
  auto finish = [p, queries] {
    auto& req = p->req;
    msg::OffsetFetchResponse resp;
    if (req->api_version >= 8) {
      for (size_t i = 0; i < queries.size(); ++i) {
        msg::OffsetFetchResponse::OffsetFetchResponseGroup grp;
        grp.group_id = queries[i].group_id;
        grp.error_code = code(p->results[i].error);
        for (auto& t : p->results[i].topics) {
          msg::OffsetFetchResponse::OffsetFetchResponseTopics rt{t.topic, {}};
          for (auto& pp : t.partitions)
            rt.partitions.push_back({pp.partition, pp.offset, pp.leader_epoch, pp.metadata, code(pp.error)});
          grp.topics.push_back(std::move(rt));
        }
        resp.groups.push_back(std::move(grp));
      }
    } else {
      auto& res = p->results[0];
      resp.error_code = code(res.error);
      for (auto& t : res.topics) {
        msg::OffsetFetchResponse::OffsetFetchResponseTopic rt{t.topic, {}};
        for (auto& pp : t.partitions)
          rt.partitions.push_back({pp.partition, pp.offset, pp.leader_epoch, pp.metadata, code(pp.error)});
        resp.topics.push_back(std::move(rt));
      }
    }
    respond(req, resp);
  };
  if (queries.empty()) return finish();
  for (size_t i = 0; i < queries.size(); ++i) {
    auto q = queries[i];
    with_group(
        req, q.group_id, [q](g::GroupCoordinator& c) { return c.fetch_offsets(q.group_id, q.topics); },
        [p, i, finish](g::FetchOffsetsResult res) {
          p->results[i] = std::move(res);
          if (--p->left == 0) finish();
        });
  }
}

}  // namespace

extern const Handler kOffsetFetchHandler{msg::OffsetFetchRequest::kApiKey, 0, 8, &handle};

}  // namespace wharf::kafka
