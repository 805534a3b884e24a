// StreamReader on a real Broker with two shards: credit, every partition,
// start positions, stop. The reader lives on shard 0 ("home"); partitions
// spread over both shards, so reads cross shards as they do in the server.
#include "broker/stream_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>

#include "broker/broker.h"
#include "broker/queue/message_codec.h"

namespace wharf::broker {
namespace {

using namespace std::chrono_literals;

const ShardId kHome(0);

class StreamReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wharf-stream-reader-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    readers_.reserve(16);  // never reallocated while sinks read it at home
    shards_.start();
    broker::BrokerConfig cfg;
    cfg.data_dir = dir_.string();
    cfg.shards = 2;
    auto b = broker::Broker::open(cfg, shards_);
    ASSERT_TRUE(b.ok()) << b.error().message;
    broker_ = std::move(*b);
  }

  void TearDown() override {
    on_home([&] { readers_.clear(); });
    broker_->shutdown();
    shards_.stop();
    std::filesystem::remove_all(dir_);
  }

  // Runs `f` on shard `s` and waits for it.
  template <class F>
  void on(ShardId s, F f) {
    std::promise<void> done;
    shards_.post(s, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
  template <class F>
  void on_home(F f) { on(kHome, std::move(f)); }

  void create_topic(const std::string& name, int32_t partitions) {
    std::promise<bool> ok;
    shards_.post(kHome, [&] {
      broker_->create_topic(name, partitions, {}, [&](auto r) { ok.set_value(r.ok()); });
    });
    ASSERT_TRUE(ok.get_future().get());
  }

  // Appends one message per body to partition `p`, stamped `ts`.
  void append(const std::string& topic, int32_t p, const std::vector<std::string>& bodies, int64_t ts = 1000) {
    on(broker_->shard_of(topic, p), [&] {
      auto part = broker_->partition(topic, p);
      ASSERT_TRUE(part);
      broker::queue::BatchEncoder enc;
      for (const auto& body : bodies) {
        broker::queue::Message m;
        m.body = broker::queue::Body::copy_of(std::string_view(body));
        std::vector<uint8_t> batch;
        enc.encode(m, ts, batch);
        ASSERT_EQ(part->append(batch, ts).err, Errc::kOk);
      }
    });
  }

  // A reader at home whose sink records every delivery and tags it.
  struct Got {
    int32_t partition;
    int64_t offset;
    std::string body;
    uint64_t tag;
  };
  size_t start_reader(const std::string& topic, int32_t partitions, StreamStart start, uint32_t prefetch) {
    size_t idx = readers_.size();
    readers_.emplace_back();
    on_home([&] {
      auto sink = [this, idx](int32_t p, std::vector<broker::StreamRecord>&& rs) {
        std::lock_guard lk(mu_);
        for (auto& r : rs) {
          uint64_t tag = ++next_tag_;
          readers_[idx]->delivered(tag);
          got_[idx].push_back({p, r.offset, std::string(r.message.body.view()), tag});
        }
        cv_.notify_all();
      };
      auto gone = [this](const Error& e) {
        std::lock_guard lk(mu_);
        gone_.push_back(e.message);
        cv_.notify_all();
      };
      readers_[idx] = std::make_shared<StreamReader>(*broker_, topic, partitions, start, prefetch, sink, gone);
      readers_[idx]->open([this, idx](status st) {
        std::lock_guard lk(mu_);
        opened_[idx] = st;
        if (st.ok()) readers_[idx]->start(false);
        cv_.notify_all();
      });
    });
    // Like consume-ok: reading starts once every partition's start is known.
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 20s, [&] { return opened_.count(idx) > 0; });
    EXPECT_TRUE(opened_.count(idx) && opened_[idx].ok());
    return idx;
  }

  // Waits until reader `idx` got at least `n` deliveries; returns a copy.
  std::vector<Got> wait_for(size_t idx, size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 20s, [&] { return got_[idx].size() >= n; });
    return got_[idx];
  }
  // What reader `idx` has once the broker had a moment to send more: for
  // checks that nothing beyond the credit arrives.
  std::vector<Got> after_quiet(size_t idx) {
    std::this_thread::sleep_for(200ms);
    std::lock_guard lk(mu_);
    return got_[idx];
  }
  void settle(size_t idx, std::vector<uint64_t> tags) {
    on_home([&] { readers_[idx]->settle(tags); });
  }

  std::filesystem::path dir_;
  broker::Shards shards_{2};
  std::unique_ptr<broker::Broker> broker_;
  std::vector<std::shared_ptr<StreamReader>> readers_;  // touched at home only (after creation)
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, std::vector<Got>> got_;  // GUARDED_BY(mu_)
  std::vector<std::string> gone_;           // GUARDED_BY(mu_)
  std::map<size_t, status> opened_;         // GUARDED_BY(mu_)
  uint64_t next_tag_ = 0;                   // home only
};

std::vector<std::string> bodies(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST_F(StreamReaderTest, PrefetchIsCreditAcrossPartitions) {
  create_topic("s", 3);
  for (int32_t p = 0; p < 3; ++p) append("s", p, bodies("p" + std::to_string(p) + "-", 10));
  size_t r = start_reader("s", 3, {StreamStart::Kind::kFirst, 0}, 4);
  auto first = wait_for(r, 4);
  EXPECT_EQ(after_quiet(r).size(), 4u) << "more deliveries than the credit";

  // Settling gives credit back, one for one, until everything was read.
  std::vector<Got> all = first;
  size_t settled = 0;
  for (int round = 0; round < 100 && all.size() < 30; ++round) {
    std::vector<uint64_t> tags;
    for (size_t i = settled; i < all.size(); ++i) tags.push_back(all[i].tag);
    settled = all.size();
    settle(r, tags);
    all = wait_for(r, std::min<size_t>(30, settled + 4));
    EXPECT_LE(all.size(), settled + 4) << "more unsettled deliveries than the credit";
  }
  ASSERT_EQ(all.size(), 30u);
  // Every partition, each in offset order, with the right records.
  std::map<int32_t, std::vector<std::string>> by_part;
  for (const auto& g : all) {
    auto& v = by_part[g.partition];
    EXPECT_EQ(g.offset, int64_t(v.size()));
    v.push_back(g.body);
  }
  for (int32_t p = 0; p < 3; ++p) EXPECT_EQ(by_part[p], bodies("p" + std::to_string(p) + "-", 10));
  on_home([&] { EXPECT_EQ(readers_[r]->unacked(), 30 - settled); });
}

TEST_F(StreamReaderTest, StartPositions) {
  create_topic("pos", 1);
  append("pos", 0, bodies("old", 3), 1000);
  append("pos", 0, bodies("new", 3), 5000);
  size_t last = start_reader("pos", 1, {StreamStart::Kind::kLast, 0}, 10);
  size_t at = start_reader("pos", 1, {StreamStart::Kind::kOffset, 4}, 10);
  size_t below = start_reader("pos", 1, {StreamStart::Kind::kOffset, -5}, 10);
  size_t beyond = start_reader("pos", 1, {StreamStart::Kind::kOffset, 100}, 10);
  size_t since = start_reader("pos", 1, {StreamStart::Kind::kTimestamp, 4000}, 10);
  size_t next = start_reader("pos", 1, {StreamStart::Kind::kNext, 0}, 10);
  auto offsets = [](const std::vector<Got>& g) {
    std::vector<int64_t> o;
    for (const auto& x : g) o.push_back(x.offset);
    return o;
  };
  EXPECT_EQ(offsets(wait_for(last, 1)), (std::vector<int64_t>{5}));
  EXPECT_EQ(offsets(wait_for(at, 2)), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(offsets(wait_for(below, 6)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(offsets(wait_for(since, 3)), (std::vector<int64_t>{3, 4, 5}));
  // Readers that are caught up get what is appended next, and only that.
  append("pos", 0, {"later"});
  EXPECT_EQ(offsets(wait_for(next, 1)), (std::vector<int64_t>{6}));
  EXPECT_EQ(offsets(wait_for(beyond, 1)), (std::vector<int64_t>{6}));
  EXPECT_EQ(offsets(wait_for(last, 2)), (std::vector<int64_t>{5, 6}));
}

TEST_F(StreamReaderTest, StoppedReaderGetsNothing) {
  create_topic("stop", 2);
  size_t r = start_reader("stop", 2, {StreamStart::Kind::kNext, 0}, 10);
  size_t other = start_reader("stop", 2, {StreamStart::Kind::kNext, 0}, 10);
  on_home([&] { readers_[r]->stop(); });
  append("stop", 0, {"a"});
  append("stop", 1, {"b"});
  wait_for(other, 2);
  EXPECT_TRUE(after_quiet(r).empty());
}

TEST_F(StreamReaderTest, OpenReportsMissingPartitions) {
  create_topic("short", 1);
  std::promise<status> opened;
  on_home([&] {
    readers_.push_back(std::make_shared<StreamReader>(
        *broker_, "short", 2, StreamStart{}, 10, [](int32_t, std::vector<broker::StreamRecord>&&) {},
        [](const Error&) {}));
    readers_.back()->open([&](status st) { opened.set_value(st); });
  });
  status st = opened.get_future().get();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kNotFound);
  EXPECT_NE(st.error().message.find("short-1"), std::string::npos) << st.error().message;
}

TEST_F(StreamReaderTest, DeletedTopicEndsTheReader) {
  create_topic("doomed", 2);
  start_reader("doomed", 2, {StreamStart::Kind::kNext, 0}, 10);
  // Whether its polls are waiting for data or not sent yet, the reader ends.
  std::promise<void> deleted;
  shards_.post(kHome, [&] { broker_->delete_topic("doomed", [&](status) { deleted.set_value(); }); });
  deleted.get_future().wait();
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, 20s, [&] { return !gone_.empty(); });
  ASSERT_EQ(gone_.size(), 1u) << "the reader must end exactly once";
  EXPECT_NE(gone_[0].find("doomed-"), std::string::npos) << gone_[0];
}

}  // namespace
}  // namespace wharf::broker
