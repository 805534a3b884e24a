// Fetch (key 1): reads stored batches and returns them as file slices that the
// connection sends with sendfile() (no re-encoding, no copy through user space).
//
// Long-poll: when less than min_bytes is available the request waits up to
// max_wait_ms. It registers a one-shot waiter on every partition it reads;
// the partition's next append wakes it (a post back to this shard), and it
// reads again. A timer answers with whatever is there at max_wait_ms.
#include <algorithm>
#include <map>
#include <memory>

#include <asio.hpp>

#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/fetch.h"

namespace wharf::kafka {

namespace {

struct Item {
  size_t ti, pi;
  std::string topic;
  int32_t partition;
  int64_t offset;
  int32_t max_bytes;
  uint32_t shard;
  bool known;
  // result of the last read
  int16_t error = 0;
  int64_t high_watermark = -1;
  int64_t log_start = -1;
  storage::ReadResult data;
};

struct ReadJob {
  size_t index;  // into FetchState::items
  std::string topic;
  int32_t partition;
  int64_t offset;
  int32_t max_bytes;
  int16_t error = 0;
  int64_t hw = -1, log_start = -1;
  storage::ReadResult data;
};

class FetchState : public std::enable_shared_from_this<FetchState> {
 public:
  FetchState(RequestPtr req, msg::FetchRequest r)
      : req_(std::move(req)), r_(std::move(r)), timer_(req_->broker().shards().io(Shards::current())) {}

  void start() {
    auto& b = req_->broker();
    for (size_t ti = 0; ti < r_.topics.size(); ++ti) {
      auto& t = r_.topics[ti];
      auto info = b.topics().find(t.topic);
      for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
        auto& fp = t.partitions[pi];
        Item it{ti, pi, t.topic, fp.partition, fp.fetch_offset, fp.partition_max_bytes, 0, false};
        if (info && fp.partition >= 0 && fp.partition < info->partitions) {
          it.known = true;
          it.shard = b.shard_of(t.topic, fp.partition).value;
        } else {
          it.error = 3;  // UNKNOWN_TOPIC_OR_PARTITION
        }
        items_.push_back(std::move(it));
      }
    }
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, r_.max_wait_ms));
    read_all();
  }

 private:
  using Shards = broker::Shards;

  void read_all() {
    reading_ = true;
    std::map<uint32_t, std::vector<ReadJob>> jobs;
    for (size_t i = 0; i < items_.size(); ++i) {
      auto& it = items_[i];
      if (!it.known) continue;
      jobs[it.shard].push_back(ReadJob{i, it.topic, it.partition, it.offset, it.max_bytes});
    }
    if (jobs.empty()) { reading_ = false; return evaluate(); }
    pending_reads_ = int(jobs.size());
    auto& shards = req_->broker().shards();
    ShardId origin = Shards::current();
    auto self = shared_from_this();
    int32_t budget = std::max(0, r_.max_bytes);
    for (auto& [shard, js] : jobs) {
      shards.run_at(ShardId(shard), [self, origin, &shards, budget, js = std::move(js)]() mutable {
        auto& b = self->req_->broker();
        for (auto& j : js) {
          auto p = b.partition(j.topic, j.partition);
          if (!p) { j.error = 3; continue; }
          auto& log = p->log();
          j.hw = log.end_offset().value;
          j.log_start = log.start_offset().value;
          size_t limit = size_t(std::max(0, std::min(j.max_bytes, budget)));
          auto rr = log.read(Offset(j.offset), limit, true);
          if (!rr.ok()) {
            j.error = rr.code() == Errc::kOffsetOutOfRange ? 1 : to_kafka_error(rr.code());
            continue;
          }
          j.data = std::move(*rr);
        }
        shards.run_at(origin, [self, js = std::move(js)]() mutable { self->on_read(std::move(js)); });
      });
    }
  }

  void on_read(std::vector<ReadJob> js) {
    for (auto& j : js) {
      auto& it = items_[j.index];
      it.error = j.error;
      it.high_watermark = j.hw;
      it.log_start = j.log_start;
      it.data = std::move(j.data);
    }
    if (--pending_reads_ > 0) return;
    reading_ = false;
    if (woken_again_) {  // data arrived while we were reading
      woken_again_ = false;
      return read_all();
    }
    evaluate();
  }

  void evaluate() {
    if (answered_) return;
    size_t total = 0;
    bool error = false;
    for (auto& it : items_) {
      total += it.data.bytes;
      if (it.error) error = true;
    }
    bool expired = std::chrono::steady_clock::now() >= deadline_;
    if (error || expired || r_.max_wait_ms <= 0 || total >= size_t(std::max(1, r_.min_bytes))) return answer();
    if (!waiting_) wait();
    else register_waiters();
  }

  void wait() {
    waiting_ = true;
    auto self = shared_from_this();
    timer_.expires_at(deadline_);
    timer_.async_wait([self](const asio::error_code& ec) {
      if (ec || self->answered_) return;
      if (self->reading_) { self->woken_again_ = true; return; }
      self->read_all();  // final read; deadline has passed so evaluate() answers
    });
    register_waiters();
  }

  // Registers a one-shot waiter on every partition. An append that landed
  // between our read and this registration would never fire it, so a
  // partition whose end moved past what we read wakes us at once instead.
  void register_waiters() {
    auto& shards = req_->broker().shards();
    ShardId origin = Shards::current();
    std::weak_ptr<FetchState> weak = shared_from_this();
    struct Watch {
      std::string topic;
      int32_t partition;
      int64_t seen_end;  // high watermark of our last read
    };
    std::map<uint32_t, std::vector<Watch>> by_shard;
    for (auto& it : items_)
      if (it.known) by_shard[it.shard].push_back(Watch{it.topic, it.partition, it.high_watermark});
    for (auto& [shard, ws] : by_shard) {
      shards.run_at(ShardId(shard), [this_broker = &req_->broker(), &shards, origin, weak, ws = std::move(ws)] {
        auto wake = [&shards, origin, weak] {
          shards.post(origin, [weak] {
            if (auto s = weak.lock()) s->on_wake();
          });
        };
        for (auto& w : ws) {
          auto p = this_broker->partition(w.topic, w.partition);
          if (!p) continue;
          if (p->log().end_offset().value > w.seen_end) return wake();
          p->add_data_waiter(weak, wake);
        }
      });
    }
  }

  void on_wake() {
    if (answered_) return;
    if (reading_) { woken_again_ = true; return; }
    read_all();
  }

  void answer() {
    answered_ = true;
    timer_.cancel();
    msg::FetchResponse resp;
    resp.responses.resize(r_.topics.size());
    for (size_t ti = 0; ti < r_.topics.size(); ++ti) {
      resp.responses[ti].topic = r_.topics[ti].topic;
      resp.responses[ti].partitions.resize(r_.topics[ti].partitions.size());
    }
    // Response-wide max_bytes: partitions are filled in request order; the
    // first non-empty one is always included whole (KIP-74).
    size_t total = 0, budget = size_t(std::max(0, r_.max_bytes));
    for (auto& it : items_) {
      auto& pd = resp.responses[it.ti].partitions[it.pi];
      pd.partition_index = it.partition;
      pd.error_code = it.error;
      pd.high_watermark = it.high_watermark;
      pd.last_stable_offset = it.high_watermark;
      pd.log_start_offset = it.log_start;
      if (req_->api_version >= 4) pd.aborted_transactions = std::vector<msg::FetchResponse::AbortedTransaction>{};
      if (it.data.bytes > 0 && (total == 0 || total + it.data.bytes <= budget)) {
        total += it.data.bytes;
        pd.records.slices = std::move(it.data.slices);
      }
    }
    respond(req_, resp);
  }

  RequestPtr req_;
  msg::FetchRequest r_;
  std::vector<Item> items_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  int pending_reads_ = 0;
  bool reading_ = false, woken_again_ = false, waiting_ = false, answered_ = false;
};

void handle(const RequestPtr& req) {
  msg::FetchRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  std::make_shared<FetchState>(req, std::move(r))->start();
}

}  // namespace

extern const Handler kFetchHandler{msg::FetchRequest::kApiKey, 4, 12, &handle};

}  // namespace wharf::kafka
