// ListOffsets (key 2): earliest (-2), latest (-1) or first offset at/after a
// timestamp, per partition, looked up on the partition's shard.
#include <map>
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/list_offsets.h"

namespace wharf::kafka {

namespace {

struct Job {
  size_t ti, pi;
  std::string topic;
  int32_t partition;
  int64_t timestamp;
  int16_t error = 0;
  int64_t offset = -1, ts = -1;
};

struct Pending {
  RequestPtr req;
  msg::ListOffsetsResponse resp;
  int left = 0;
};

void finish(const std::shared_ptr<Pending>& p) {
  respond(p->req, p->resp);
}

void handle(const RequestPtr& req) {
  msg::ListOffsetsRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto p = std::make_shared<Pending>();
  p->req = req;
  auto& b = req->broker();
  std::map<uint32_t, std::vector<Job>> by_shard;
  p->resp.topics.resize(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    auto& t = r.topics[ti];
    auto& rt = p->resp.topics[ti];
    rt.name = t.name;
    rt.partitions.resize(t.partitions.size());
    auto info = b.topics().find(t.name);
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& tp = t.partitions[pi];
      rt.partitions[pi].partition_index = tp.partition_index;
      if (!info || tp.partition_index < 0 || tp.partition_index >= info->partitions) {
        rt.partitions[pi].error_code = 3;
        continue;
      }
      by_shard[b.shard_of(t.name, tp.partition_index).value].push_back(
          Job{ti, pi, t.name, tp.partition_index, tp.timestamp});
    }
  }
  if (by_shard.empty()) return finish(p);
  p->left = int(by_shard.size());
  auto& shards = b.shards();
  for (auto& [shard, jobs] : by_shard) {
    shards.call(
        ShardId(shard),
        [&b, jobs = std::move(jobs)]() mutable {
          for (auto& j : jobs) {
            auto part = b.partition(j.topic, j.partition);
            if (!part) { j.error = 3; continue; }
            auto& log = part->log();
            if (j.timestamp == -2) {
              j.offset = log.start_offset().value;
            } else if (j.timestamp == -1 || j.timestamp == -3) {
              j.offset = log.end_offset().value;
            } else {
              auto [off, ts] = part->offset_for_time(j.timestamp);
              j.offset = off;
              j.ts = ts;
            }
          }
          return std::move(jobs);
        },
        [p](std::vector<Job> jobs) {
          for (auto& j : jobs) {
            auto& rp = p->resp.topics[j.ti].partitions[j.pi];
            rp.error_code = j.error;
            rp.offset = j.offset;
            rp.timestamp = j.ts;
            rp.leader_epoch = 0;
            if (j.error == 0) rp.old_style_offsets = {j.offset};
          }
          if (--p->left == 0) finish(p);
        });
  }
}

}  // namespace

extern const Handler kListOffsetsHandler{msg::ListOffsetsRequest::kApiKey, 0, 7, &handle};

}  // namespace wharf::kafka
