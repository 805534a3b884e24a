// RabbitMQ queue features: TTL and expiration, length limits, priorities,
// dead-lettering, delivery limits, purge and delete.
#include <gtest/gtest.h>

#include "broker/queue/queue.h"
#include "queue_test_util.h"

namespace wharf::broker::queue {
namespace {

using namespace testing;

std::vector<std::string> dead_bodies(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& d : h.dead) out.push_back(std::string(d.message.body.view()));
  return out;
}

TEST(QueueTtl, QueueTtlExpiresMessagesAtTheHead) {
  Harness h;
  auto cfg = Harness::config();
  cfg.message_ttl_ms = 1000;
  auto q = h.open(cfg);
  publish_all(*q, {"old"});
  h.clock += 600;
  publish_all(*q, {"new"});
  EXPECT_FALSE(h.wakes.empty());  // the owner was asked to come back when "old" expires
  EXPECT_EQ(h.wakes.back(), h.clock - 600 + 1000 + 1);
  h.clock += 401;  // "old" is 1001 ms old, "new" 401
  EXPECT_EQ(q->expire(), 1u);
  EXPECT_EQ(q->message_count(), 1u);
  ASSERT_EQ(dead_bodies(h), (std::vector<std::string>{"old"}));
  EXPECT_EQ(h.dead[0].reason, DeathReason::kExpired);
  Recorder r;
  ASSERT_TRUE(q->attach(consumer(r)).ok());
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"new"}));
}

TEST(QueueTtl, PerMessageExpirationAndTheLowerOfBoth) {
  Harness h;
  auto cfg = Harness::config();
  cfg.message_ttl_ms = 10'000;
  auto q = h.open(cfg);
  Message m = msg("short");
  m.props.expiration_ms = 100;
  ASSERT_TRUE(q->publish(m).ok());
  publish_all(*q, {"long"});
  h.clock += 101;
  // Expired messages are not delivered, whether or not a timer ran.
  Recorder r;
  ASSERT_TRUE(q->attach(consumer(r)).ok());
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"long"}));
  ASSERT_EQ(h.dead.size(), 1u);
  // The expiration moved into x-death so it does not fire again in the DLQ.
  EXPECT_FALSE(h.dead[0].message.props.expiration_ms.has_value());
  EXPECT_EQ(h.dead[0].message.deaths.at(0).original_expiration_ms, 100);
}

TEST(QueueTtl, ExpirationBehindALiveHeadWaitsForTheHead) {
  // RabbitMQ expires only at the head: a short-lived message behind a
  // long-lived one stays until it gets there (and is then dropped).
  Harness h;
  auto q = h.open();
  Message a = msg("a");
  a.props.expiration_ms = 1000;
  Message b = msg("b");
  b.props.expiration_ms = 10;
  ASSERT_TRUE(q->publish(a).ok());
  ASSERT_TRUE(q->publish(b).ok());
  h.clock += 50;
  EXPECT_EQ(q->expire(), 0u);
  EXPECT_EQ(q->message_count(), 2u);
  auto d = q->get(SessionId(1), true);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ(body_of(**d), "a");
  // Now "b" is the head: it expires without waiting for a timer.
  EXPECT_EQ(q->message_count(), 0u);
  EXPECT_EQ(dead_bodies(h), (std::vector<std::string>{"b"}));
}

TEST(QueueLength, DropHeadKeepsTheNewestAndDeadLettersTheRest) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_length = 3;
  auto q = h.open(cfg);
  publish_all(*q, {"1", "2", "3", "4", "5"});
  EXPECT_EQ(q->message_count(), 3u);
  EXPECT_EQ(dead_bodies(h), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(h.dead[0].reason, DeathReason::kMaxLen);
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"3", "4", "5"}));
}

TEST(QueueLength, UnackedMessagesDoNotCount) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_length = 1;
  auto q = h.open(cfg);
  publish_all(*q, {"1"});
  auto d = q->get(SessionId(1), false);  // now unacked
  publish_all(*q, {"2"});
  EXPECT_TRUE(h.dead.empty());
  EXPECT_EQ(q->message_count(), 1u);
}

TEST(QueueLength, RejectPublishRefusesWithoutDeadLettering) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_length = 2;
  cfg.overflow = Overflow::kRejectPublish;
  auto q = h.open(cfg);
  publish_all(*q, {"1", "2"});
  bool confirmed = false;
  auto r = q->publish(msg("3"), [&](status) { confirmed = true; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, PublishResult::kRejected);
  EXPECT_FALSE(confirmed);  // the front end nacks instead
  EXPECT_TRUE(h.dead.empty());
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(*q->publish(msg("4")), PublishResult::kAccepted);
}

TEST(QueueLength, RejectPublishDlxDeadLettersTheRefusedMessage) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_length = 1;
  cfg.overflow = Overflow::kRejectPublishDlx;
  auto q = h.open(cfg);
  publish_all(*q, {"1"});
  EXPECT_EQ(*q->publish(msg("2")), PublishResult::kRejected);
  EXPECT_EQ(dead_bodies(h), (std::vector<std::string>{"2"}));
  EXPECT_EQ(h.dead[0].reason, DeathReason::kMaxLen);
}

TEST(QueueLength, MaxLengthBytesCountsBodyBytesAcrossRestarts) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_length_bytes = 25;
  {
    auto q = h.open(cfg);
    publish_all(*q, {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"});  // 30 bytes: the head goes
    EXPECT_EQ(q->message_count(), 2u);
    EXPECT_EQ(q->ready_bytes(), 20u);
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open(cfg);
  EXPECT_EQ(q->ready_bytes(), 20u);
  publish_all(*q, {"dddddddddd"});
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"cccccccccc", "dddddddddd"}));
}

TEST(QueuePriority, HigherFirstFifoWithinALevel) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_priority = 5;
  auto q = h.open(cfg);
  struct P {
    const char* body;
    std::optional<uint8_t> prio;
  };
  for (auto p : {P{"a0", 0}, P{"b5", 5}, P{"c3", 3}, P{"d5", 5}, P{"e-none", std::nullopt}, P{"f9", 9}, P{"g3", 3}}) {
    ASSERT_TRUE(q->publish(msg(p.body, p.prio)).ok());
  }
  // 9 is above the maximum and counts as 5; no priority counts as 0.
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"b5", "d5", "f9", "c3", "g3", "a0", "e-none"}));
}

TEST(QueuePriority, RequeuedLowPriorityWaitsForHigherOnesAndSurvivesRestart) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_priority = 2;
  {
    auto q = h.open(cfg);
    ASSERT_TRUE(q->publish(msg("low1", 0)).ok());
    ASSERT_TRUE(q->publish(msg("low2", 0)).ok());
    auto d = q->get(SessionId(1), false);
    ASSERT_EQ(body_of(**d), "low1");
    ASSERT_TRUE(q->publish(msg("high", 2)).ok());
    ASSERT_TRUE(q->reject(SessionId(1), (*d)->tag, false, true).ok());
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open(cfg);
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"high", "low1", "low2"}));
}

TEST(QueueDeadLetter, RejectedMessageCarriesItsHistory) {
  Harness h;
  auto cfg = Harness::config("orders");
  cfg.dead_letter_routing_key = "dead.orders";
  auto q = h.open(cfg);
  Message m = msg("payload");
  m.headers.add("k", "v");
  ASSERT_TRUE(q->publish(m).ok());
  auto d = q->get(SessionId(7), false);
  ASSERT_TRUE(q->reject(SessionId(7), (*d)->tag, false, /*requeue=*/false).ok());
  ASSERT_EQ(h.dead.size(), 1u);
  const DeadLetter& dl = h.dead[0];
  EXPECT_EQ(dl.reason, DeathReason::kRejected);
  EXPECT_EQ(dl.queue, "orders");
  EXPECT_EQ(dl.exchange, "dlx");
  EXPECT_EQ(dl.routing_key, "dead.orders");
  EXPECT_EQ(std::string(dl.message.body.view()), "payload");
  EXPECT_EQ(dl.message.headers, m.headers);
  ASSERT_EQ(dl.message.deaths.size(), 1u);
  const DeathRecord& x = dl.message.deaths[0];
  EXPECT_EQ(x.queue, "orders");
  EXPECT_EQ(x.reason, DeathReason::kRejected);
  EXPECT_EQ(x.count, 1);
  EXPECT_EQ(x.exchange, "ex");
  EXPECT_EQ(x.routing_keys, std::vector<std::string>{"rk"});
  EXPECT_EQ(x.time, h.clock / 1000);
  EXPECT_EQ(q->message_count() + q->unacked_count(), 0u);
}

TEST(QueueDeadLetter, WithoutADeadLetterExchangeMessagesAreDiscarded) {
  Harness h;
  auto cfg = Harness::config();
  cfg.dead_letter_exchange.reset();
  auto q = h.open(cfg);
  publish_all(*q, {"x"});
  auto d = q->get(SessionId(1), false);
  ASSERT_TRUE(q->reject(SessionId(1), (*d)->tag, false, false).ok());
  EXPECT_TRUE(h.dead.empty());
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(QueueDeadLetter, DeliveryLimitDeadLettersAfterTooManyReturns) {
  Harness h;
  auto cfg = Harness::config();
  cfg.delivery_limit = 2;  // two redeliveries allowed, three deliveries in all
  auto q = h.open(cfg);
  publish_all(*q, {"poison", "next"});
  for (int i = 1; i <= 3; ++i) {
    auto d = q->get(SessionId(1), false);
    ASSERT_TRUE(d.ok() && d->has_value());
    ASSERT_EQ(body_of(**d), "poison");
    EXPECT_EQ((*d)->delivery_count, uint32_t(i));
    ASSERT_TRUE(q->reject(SessionId(1), (*d)->tag, false, true).ok());
  }
  ASSERT_EQ(dead_bodies(h), (std::vector<std::string>{"poison"}));
  EXPECT_EQ(h.dead[0].reason, DeathReason::kDeliveryLimit);
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"next"}));
}

TEST(QueueAdmin, PurgeRemovesReadyButNotUnacked) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3"});
  auto d = q->get(SessionId(1), false);
  EXPECT_EQ(*q->purge(), 2u);
  EXPECT_EQ(q->message_count(), 0u);
  EXPECT_EQ(q->unacked_count(), 1u);
  ASSERT_TRUE(q->reject(SessionId(1), (*d)->tag, false, true).ok());
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"1"}));
  publish_all(*q, {"4"});
  ASSERT_TRUE(q->close().ok());
  q = h.open();
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"4"}));  // the purge was persisted
}

TEST(QueueAdmin, DeleteChecksAndCancelsConsumers) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1"});
  EXPECT_EQ(q->remove(false, /*if_empty=*/true).code(), Errc::kPreconditionFailed);
  Recorder r;
  bool cancelled = false;
  auto o = consumer(r);
  o.on_cancel = [&] { cancelled = true; };
  ASSERT_TRUE(q->attach(o).ok());
  EXPECT_EQ(q->consumer_count(), 1u);
  EXPECT_EQ(q->remove(/*if_unused=*/true, false).code(), Errc::kPreconditionFailed);
  EXPECT_FALSE(q->closed());
  publish_all(*q, {"2"});
  auto n = q->remove(false, false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);  // both were delivered (unacked), none ready
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(q->closed());
  EXPECT_FALSE(storage::Env::posix()->exists(h.dir));
  EXPECT_EQ(q->publish(msg("x")).code(), Errc::kNotFound);
  EXPECT_EQ(q->ack(SessionId(1), r.got[0].tag, false).code(), Errc::kNotFound);
}

}  // namespace
}  // namespace wharf::broker::queue

namespace wharf::broker::queue {
namespace {

using namespace testing;

ConsumerOptions no_ack_consumer(Recorder& r) {
  ConsumerOptions o = consumer(r);
  o.no_ack = true;
  return o;
}

TEST(QueueHandOff, WaitingNoAckConsumerGetsTransientMessagesWithoutAWrite) {
  Harness h;
  auto cfg = Harness::config();
  cfg.durable = false;
  auto q = h.open(cfg);
  Recorder r;
  ASSERT_TRUE(q->attach(no_ack_consumer(r)).ok());
  publish_all(*q, {"a", "b", "c"});
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(q->message_count(), 0u);
  EXPECT_EQ(q->disk_bytes(), 0u);  // nothing was stored
}

TEST(QueueHandOff, StoredMessagesAreNeverOvertaken) {
  Harness h;
  std::deque<std::function<void()>> deferred;
  h.deferred = &deferred;  // dispatch waits for the end of the "turn"
  auto q = h.open();
  publish_all(*q, {"stored"});
  Recorder r;
  ASSERT_TRUE(q->attach(no_ack_consumer(r)).ok());
  publish_all(*q, {"next"});  // "stored" is still ready: "next" must queue behind it
  while (!deferred.empty()) {
    auto fn = std::move(deferred.front());
    deferred.pop_front();
    fn();
  }
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"stored", "next"}));
}

TEST(QueueHandOff, PersistentMessagesInADurableQueueAndAckingConsumersAreStored) {
  Harness h;
  auto q = h.open();  // durable
  Recorder acking, no_ack;
  ASSERT_TRUE(q->attach(no_ack_consumer(no_ack)).ok());
  Message m = msg("persistent");
  m.props.delivery_mode = kDeliveryModePersistent;
  ASSERT_TRUE(q->publish(m).ok());
  EXPECT_GT(q->disk_bytes(), 0u);
  EXPECT_EQ(no_ack.bodies(), (std::vector<std::string>{"persistent"}));

  Harness h2;
  auto q2 = h2.open();
  ASSERT_TRUE(q2->attach(consumer(acking)).ok());
  publish_all(*q2, {"transient"});
  ASSERT_EQ(acking.bodies(), (std::vector<std::string>{"transient"}));
  // An acking consumer may hand it back: it was stored, and comes back.
  ASSERT_TRUE(q2->reject(SessionId(1), acking.got[0].tag, false, true).ok());
  EXPECT_EQ(acking.bodies(), (std::vector<std::string>{"transient", "transient"}));
  EXPECT_TRUE(acking.got[1].redelivered);
}

}  // namespace
}  // namespace wharf::broker::queue
