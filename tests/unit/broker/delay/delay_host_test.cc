// DelayHost on a real Broker with two shards: scheduling from a shard
// thread, firing into a queue directly and through an exchange (queues on
// either shard), bad schedules refused through `done`, pending entries
// surviving a broker restart. Waiting is "until it holds or a generous
// deadline", never a timing assertion.
#include "broker/delay_host.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "broker/broker.h"
#include "broker/queue_host.h"
#include "broker/routing/registry.h"

namespace wharf::broker {
namespace {

using namespace std::chrono_literals;

class DelayHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wharf-delay-host-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    shards_ = std::make_unique<Shards>(2);
    shards_->start();
    BrokerConfig cfg;
    cfg.data_dir = dir_.string();
    cfg.shards = 2;
    auto b = Broker::open(cfg, *shards_);
    ASSERT_TRUE(b.ok()) << b.error().message;
    broker_ = std::move(*b);
  }
  void stop() {
    if (!broker_) return;
    broker_->shutdown();
    shards_->stop();
    broker_.reset();
    shards_.reset();
  }

  void declare_queue(const std::string& name) {
    routing::QueueDeclare d;
    d.name = name;
    d.durable = true;
    ASSERT_TRUE(broker_->routing().declare_queue("/", d, routing::kNoOwner).ok());
  }

  // Schedules from shard 0 (as a front end does) and waits for `done`.
  status schedule(delay::DelayTarget t, const std::string& body, delay::Schedule s) {
    std::promise<status> p;
    shards_->post(ShardId(0), [&] {
      queue::Message m;
      m.exchange = t.exchange;
      m.routing_key = t.routing_key;
      m.props.delivery_mode = queue::kDeliveryModePersistent;
      m.body = queue::Body::copy_of(std::string_view(body));
      broker_->delays().schedule(t, std::move(m), std::move(s), [&](status st) { p.set_value(st); });
    });
    return p.get_future().get();
  }

  uint64_t count(const std::string& q) {
    return shards_->run_blocking(broker_->queues().shard_of("/", q), [&]() -> uint64_t {
      auto live = broker_->queues().get("/", q);
      return live.ok() ? (*live)->message_count() : 0;
    });
  }
  bool wait_for_count(const std::string& q, uint64_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (count(q) >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Shards> shards_;
  std::unique_ptr<Broker> broker_;
};

delay::Schedule after(int64_t ms) {
  delay::Schedule s;
  s.delay_ms = ms;
  return s;
}

TEST_F(DelayHostTest, FiresIntoAQueueAndThroughAnExchange) {
  // Enough queues that both shards own some.
  for (int i = 0; i < 4; ++i) declare_queue("q" + std::to_string(i));
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(broker_->routing().bind("/", routing::BindingDef{"amq.fanout", routing::DestKind::kQueue,
                                                                 "q" + std::to_string(i), "", {}}).ok());
  ASSERT_TRUE(schedule(delay::DelayTarget{"/", "", "", "q0"}, "direct", after(50)).ok());
  ASSERT_TRUE(schedule(delay::DelayTarget{"/", "amq.fanout", "any", ""}, "routed", after(100)).ok());
  EXPECT_TRUE(wait_for_count("q0", 2));
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(wait_for_count("q" + std::to_string(i), 1)) << i;
}

TEST_F(DelayHostTest, BadSchedulesAreRefusedThroughDone) {
  delay::Schedule s;
  s.cron = "61 * * * *";
  EXPECT_EQ(schedule(delay::DelayTarget{"/", "", "", "q"}, "x", s).code(), Errc::kInvalidArgument);
  EXPECT_EQ(schedule(delay::DelayTarget{"/", "", "", "q"}, "x", after(-1)).code(), Errc::kInvalidArgument);
}

TEST_F(DelayHostTest, PendingEntriesSurviveARestart) {
  declare_queue("later");
  ASSERT_TRUE(schedule(delay::DelayTarget{"/", "", "", "later"}, "m", after(3000)).ok());
  stop();
  start();
  EXPECT_TRUE(wait_for_count("later", 1));
}

}  // namespace
}  // namespace wharf::broker
