// Produce (key 0): appends record batches to partition logs.
//
// Partitions are grouped by owner shard; each group is appended on its shard
// and answered back here. acks=0 is not answered; acks=1 is answered once the
// batch is in the log (page cache); acks=-1 once a group-committed fdatasync
// covers it (see broker/flusher.h).
//
// Versions 0-2 are advertised but refuse their records: they carry the old
// message formats (magic 0/1), which Wharf does not store. Listing them is
// what librdkafka up to 2.10 (Debian ships 2.0.2) looks for before it will
// compress with gzip, snappy or lz4 at all; every client sends v3+ to us.
#include <memory>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/produce.h"

namespace wharf::kafka {

namespace {

struct Slot {
  size_t ti, pi;
};

struct Item {
  Slot slot;
  int32_t partition;
  std::span<uint8_t> records;
  // result
  int16_t error = 0;
  int64_t base_offset = -1;
  int64_t log_start = -1;
  std::string message;
};

struct Pending {
  RequestPtr req;
  msg::ProduceResponse resp;
  int groups_left = 0;
};

void fill(const std::shared_ptr<Pending>& p, const std::vector<Item>& items) {
  for (auto& it : items) {
    auto& pr = p->resp.responses[it.slot.ti].partition_responses[it.slot.pi];
    pr.error_code = it.error;
    pr.base_offset = it.base_offset;
    pr.log_start_offset = it.log_start;
    if (!it.message.empty()) pr.error_message = it.message;
  }
}

void handle(const RequestPtr& req) {
  auto p = std::make_shared<Pending>();
  p->req = req;
  msg::ProduceRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  auto& b = req->broker();
  int16_t acks = r.acks;
  bool bad_acks = acks != 0 && acks != 1 && acks != -1;
  bool transactional = r.transactional_id.has_value();
  bool old_format = req->api_version < 3;

  std::map<uint32_t, std::vector<Item>> by_shard;
  p->resp.responses.resize(r.topic_data.size());
  for (size_t ti = 0; ti < r.topic_data.size(); ++ti) {
    auto& td = r.topic_data[ti];
    auto& tr = p->resp.responses[ti];
    tr.name = td.name;
    tr.partition_responses.resize(td.partition_data.size());
    auto info = b.topics().find(td.name);
    for (size_t pi = 0; pi < td.partition_data.size(); ++pi) {
      auto& pd = td.partition_data[pi];
      auto& pr = tr.partition_responses[pi];
      pr.index = pd.index;
      if (bad_acks) { pr.error_code = 21; continue; }           // INVALID_REQUIRED_ACKS
      if (old_format) {                                          // UNSUPPORTED_FOR_MESSAGE_FORMAT
        pr.error_code = 43;
        pr.error_message = "message format v0/v1 is not supported: produce RecordBatch v2 with Produce v3+";
        continue;
      }
      if (transactional) { pr.error_code = 53; continue; }      // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      if (!info || pd.index < 0 || pd.index >= info->partitions) { pr.error_code = 3; continue; }
      if (pd.records.is_null || pd.records.data.empty()) { pr.error_code = 87; continue; }  // INVALID_RECORD
      auto s = b.shard_of(td.name, pd.index);
      by_shard[s.value].push_back(Item{{ti, pi}, pd.index, pd.records.data});
    }
  }
  if (acks == 0) send_no_response(req);
  if (by_shard.empty()) {
    if (acks != 0) respond(req, p->resp);
    return;
  }
  p->groups_left = int(by_shard.size());
  ShardId origin = broker::Shards::current();
  auto& shards = b.shards();
  for (auto& [shard, items_in] : by_shard) {
    // Topic names are looked up on the owner shard; keep them with the items.
    std::vector<std::string> topics;
    for (auto& it : items_in) topics.push_back(r.topic_data[it.slot.ti].name);
    shards.run_at(ShardId(shard), [p, acks, origin, &shards, items = std::move(items_in), topics = std::move(topics)]() mutable {
      auto& b = p->req->broker();
      auto shared_items = std::make_shared<std::vector<Item>>(std::move(items));
      auto left = std::make_shared<int>(1);  // 1 for this loop; released at the end
      auto done_one = [p, acks, origin, &shards, shared_items, left] {
        if (--*left > 0) return;
        shards.run_at(origin, [p, acks, shared_items] {
          fill(p, *shared_items);
          if (--p->groups_left == 0 && acks != 0) respond(p->req, p->resp);
        });
      };
      int64_t now = now_ms();
      for (size_t i = 0; i < shared_items->size(); ++i) {
        auto& it = (*shared_items)[i];
        auto part = b.partition(topics[i], it.partition);
        if (!part) { it.error = 3; continue; }
        auto out = part->append(it.records, now);
        it.error = to_kafka_error(out.err);
        it.base_offset = out.base_offset;
        it.log_start = part->log().start_offset().value;
        if (out.err != Errc::kOk) { it.message = out.message; continue; }
        if (out.bytes > 0) b.flusher().dirty(part, out.bytes, acks == -1);
        if (acks == -1 && out.last_offset >= 0) {
          ++*left;
          part->wait_durable(out.last_offset, [shared_items, i, done = done_one](status st) {
            if (!st.ok()) (*shared_items)[i].error = 56;  // KAFKA_STORAGE_ERROR
            done();
          });
        }
      }
      done_one();
    });
  }
}

}  // namespace

extern const Handler kProduceHandler{msg::ProduceRequest::kApiKey, 0, 9, &handle};

}  // namespace wharf::kafka
