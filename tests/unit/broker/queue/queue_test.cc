// Queue delivery semantics as a client sees them: order, fairness, flow
// control, acknowledgements and requeues.
#include "broker/queue/queue.h"

#include <gtest/gtest.h>

#include "queue_test_util.h"

namespace wharf::broker::queue {
namespace {

using namespace testing;

TEST(Queue, PublishConsumeAckIsFifo) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"a", "b", "c"});
  EXPECT_EQ(q->message_count(), 3u);
  Recorder r;
  auto c = q->attach(consumer(r));
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(r.bodies(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(q->message_count(), 0u);
  EXPECT_EQ(q->unacked_count(), 3u);
  for (const auto& d : r.got) {
    EXPECT_FALSE(d.redelivered);
    EXPECT_EQ(d.delivery_count, 1u);
    EXPECT_EQ(d.consumer, *c);
    EXPECT_EQ(d.message.exchange, "ex");
    EXPECT_EQ(d.message.routing_key, "rk");
  }
  EXPECT_LT(r.got[0].tag, r.got[1].tag);
  for (const auto& d : r.got) ASSERT_TRUE(q->ack(SessionId(1), d.tag, false).ok());
  EXPECT_EQ(q->unacked_count(), 0u);
  // Later publishes go straight to the waiting consumer.
  publish_all(*q, {"d"});
  EXPECT_EQ(r.bodies().back(), "d");
}

TEST(Queue, RoundRobinOverThreeConsumersWithPrefetch) {
  Harness h;
  auto q = h.open();
  Recorder r1, r2, r3;
  ASSERT_TRUE(q->attach(consumer(r1, 1, 2)).ok());
  ASSERT_TRUE(q->attach(consumer(r2, 2, 2)).ok());
  ASSERT_TRUE(q->attach(consumer(r3, 3, 2)).ok());
  publish_all(*q, {"0", "1", "2", "3", "4", "5", "6", "7", "8"});
  EXPECT_EQ(r1.bodies(), (std::vector<std::string>{"0", "3"}));
  EXPECT_EQ(r2.bodies(), (std::vector<std::string>{"1", "4"}));
  EXPECT_EQ(r3.bodies(), (std::vector<std::string>{"2", "5"}));
  EXPECT_EQ(q->message_count(), 3u);  // everyone is at its prefetch limit
  // An ack frees one slot: exactly one more message for that consumer.
  ASSERT_TRUE(q->ack(SessionId(2), r2.got[0].tag, false).ok());
  EXPECT_EQ(r2.bodies(), (std::vector<std::string>{"1", "4", "6"}));
  EXPECT_EQ(r1.got.size(), 2u);
  EXPECT_EQ(r3.got.size(), 2u);
}

TEST(Queue, RequeueKeepsTheOriginalPosition) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3", "4", "5"});
  Recorder r;
  auto c = q->attach(consumer(r, 1, 3));
  ASSERT_EQ(r.bodies(), (std::vector<std::string>{"1", "2", "3"}));
  // Reject "2" with requeue: it goes back ahead of 4 and 5.
  ASSERT_EQ(*q->reject(SessionId(1), r.got[1].tag, false, true), 1u);
  ASSERT_EQ(r.bodies(), (std::vector<std::string>{"1", "2", "3", "2"}));
  EXPECT_TRUE(r.got[3].redelivered);
  EXPECT_EQ(r.got[3].delivery_count, 2u);
  EXPECT_NE(r.got[3].tag, r.got[1].tag);  // a new delivery, a new tag
  ASSERT_TRUE(q->ack(SessionId(1), r.got[3].tag, false).ok());
  EXPECT_EQ(r.bodies().back(), "4");
  EXPECT_FALSE(r.got.back().redelivered);
}

TEST(Queue, ClosingASessionRequeuesItsUnackedInOrder) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3", "4"});
  Recorder r1;
  ASSERT_TRUE(q->attach(consumer(r1, 1, 3)).ok());
  ASSERT_TRUE(q->ack(SessionId(1), r1.got[1].tag, false).ok());  // "2" done; r1 gets "4"
  ASSERT_EQ(r1.bodies(), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(q->close_session(SessionId(1)), 3u);
  EXPECT_EQ(q->consumer_count(), 0u);
  EXPECT_EQ(q->message_count(), 3u);
  Recorder r2;
  ASSERT_TRUE(q->attach(consumer(r2, 2)).ok());
  EXPECT_EQ(r2.bodies(), (std::vector<std::string>{"1", "3", "4"}));
  for (const auto& d : r2.got) EXPECT_TRUE(d.redelivered);
}

TEST(Queue, MultipleAckCoversOnlyThatSession) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  publish_all(*q, {"1", "2", "3", "4", "5", "6"});
  ASSERT_EQ(a.bodies(), (std::vector<std::string>{"1", "3", "5"}));
  // Session 1 acks everything up to its second delivery; session 2's
  // deliveries in between (higher and lower tags) stay unacked.
  EXPECT_EQ(*q->ack(SessionId(1), a.got[1].tag, true), 2u);
  EXPECT_EQ(q->unacked_count(), 4u);
  // Unknown single tags are an error (AMQP: PRECONDITION_FAILED), also
  // another session's tag.
  EXPECT_EQ(q->ack(SessionId(1), a.got[0].tag, false).code(), Errc::kNotFound);
  EXPECT_EQ(q->ack(SessionId(1), b.got[0].tag, false).code(), Errc::kNotFound);
  // Tag 0 with multiple: all of the session.
  EXPECT_EQ(*q->ack(SessionId(2), DeliveryTag(0), true), 3u);
  EXPECT_EQ(q->unacked_count(), 1u);
}

TEST(Queue, CancelKeepsUnackedWithTheSessionUnlessAskedToRequeue) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3"});
  Recorder r;
  auto c = q->attach(consumer(r, 1, 1));
  ASSERT_EQ(r.got.size(), 1u);
  ASSERT_TRUE(q->cancel(*c).ok());
  EXPECT_EQ(q->consumer_count(), 0u);
  EXPECT_EQ(q->unacked_count(), 1u);
  EXPECT_TRUE(q->ack(SessionId(1), r.got[0].tag, false).ok());  // AMQP: still ackable after basic.cancel
  EXPECT_EQ(q->cancel(*c).code(), Errc::kNotFound);

  Recorder r2;
  auto c2 = q->attach(consumer(r2, 2, 1));
  ASSERT_EQ(r2.bodies(), (std::vector<std::string>{"2"}));
  ASSERT_TRUE(q->cancel(*c2, /*requeue_unacked=*/true).ok());  // STOMP UNSUBSCRIBE
  EXPECT_EQ(q->unacked_count(), 0u);
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"2", "3"}));
}

TEST(Queue, BasicGet) {
  Harness h;
  auto q = h.open();
  auto none = q->get(SessionId(1), false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  publish_all(*q, {"x", "y"});
  auto d = q->get(SessionId(1), false);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ(body_of(**d), "x");
  EXPECT_NE((*d)->tag.value, 0u);
  EXPECT_EQ(q->message_count(), 1u);  // basic.get-ok's message-count
  ASSERT_TRUE(q->reject(SessionId(1), (*d)->tag, false, true).ok());
  auto again = q->get(SessionId(1), true);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(body_of(**again), "x");
  EXPECT_TRUE((*again)->redelivered);
  EXPECT_EQ((*again)->tag.value, 0u);  // no_ack: settled already
  EXPECT_EQ(q->unacked_count(), 0u);
}

TEST(Queue, HigherPriorityConsumersAreServedFirstWhileTheyHaveRoom) {
  Harness h;
  auto q = h.open();
  Recorder low, high;
  auto lo = consumer(low, 1);
  auto hi = consumer(high, 2, 2);
  hi.priority = 10;
  ASSERT_TRUE(q->attach(lo).ok());
  ASSERT_TRUE(q->attach(hi).ok());
  publish_all(*q, {"1", "2", "3", "4"});
  EXPECT_EQ(high.bodies(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(low.bodies(), (std::vector<std::string>{"3", "4"}));
}

TEST(Queue, ExclusiveConsumer) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  auto ex = consumer(a, 1);
  ex.exclusive = true;
  auto c = q->attach(ex);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(q->attach(consumer(b, 2)).code(), Errc::kResourceLocked);
  ASSERT_TRUE(q->cancel(*c).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  EXPECT_EQ(q->attach(ex).code(), Errc::kResourceLocked);
}

TEST(Queue, SingleActiveConsumerFailsOverInAttachOrder) {
  Harness h;
  auto cfg = Harness::config();
  cfg.single_active_consumer = true;
  auto q = h.open(cfg);
  Recorder a, b, c;
  auto ca = q->attach(consumer(a, 1));
  auto cb = q->attach(consumer(b, 2));
  auto cc = q->attach(consumer(c, 3));
  publish_all(*q, {"1", "2"});
  EXPECT_EQ(a.got.size(), 2u);
  EXPECT_TRUE(b.got.empty() && c.got.empty());
  EXPECT_TRUE(q->is_active(*ca));
  EXPECT_FALSE(q->is_active(*cb));
  // The active consumer's channel closes: its unacked go to the next one.
  q->close_session(SessionId(1));
  EXPECT_TRUE(q->is_active(*cb));
  EXPECT_EQ(b.bodies(), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(c.got.empty());
}

TEST(Queue, SharedCreditPoolLimitsAllItsConsumers) {
  Harness h;
  auto q = h.open();
  auto pool = std::make_shared<CreditPool>(3);  // basic.qos(3, global=true)
  Recorder a, b;
  auto oa = consumer(a, 1);
  auto ob = consumer(b, 1);
  oa.pool = ob.pool = pool;
  ASSERT_TRUE(q->attach(oa).ok());
  ASSERT_TRUE(q->attach(ob).ok());
  publish_all(*q, {"1", "2", "3", "4", "5"});
  EXPECT_EQ(a.got.size() + b.got.size(), 3u);
  EXPECT_EQ(pool->in_use.load(), 3u);
  ASSERT_TRUE(q->ack(SessionId(1), a.got[0].tag, false).ok());
  EXPECT_EQ(a.got.size() + b.got.size(), 4u);
}

TEST(Queue, ExplicitCreditAndPause) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3", "4"});
  Recorder r;
  auto o = consumer(r, 1);
  o.no_ack = true;
  o.credit = 1;
  auto c = q->attach(o);
  EXPECT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].tag.value, 0u);
  ASSERT_TRUE(q->set_paused(*c, true).ok());
  ASSERT_TRUE(q->add_credit(*c, 5).ok());
  EXPECT_EQ(r.got.size(), 1u);  // paused wins
  ASSERT_TRUE(q->set_paused(*c, false).ok());
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(q->unacked_count(), 0u);
}

TEST(Queue, DeliverPullsUpToNForOneConsumer) {
  Harness h;
  auto q = h.open();
  publish_all(*q, {"1", "2", "3", "4", "5"});
  Recorder r;
  auto o = consumer(r, 1);
  o.credit = 0;  // nothing pushed until the front end asks
  auto c = q->attach(o);
  EXPECT_TRUE(r.got.empty());
  ASSERT_TRUE(q->add_credit(*c, 2).ok());
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"1", "2"}));
  auto n = q->deliver(*c, 10);  // no credit left
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  Recorder r2;
  auto c2 = q->attach(consumer(r2, 2, 1));  // prefetch 1
  ASSERT_EQ(r2.got.size(), 1u);
  ASSERT_TRUE(q->ack(SessionId(2), r2.got[0].tag, false).ok());
  EXPECT_EQ(r2.got.size(), 2u);
  EXPECT_EQ(*q->deliver(*c2, 5), 0u);  // prefetch still full
}

TEST(Queue, ConfirmWaitsForTheGroupCommitOfPersistentMessagesOnly) {
  Harness h;
  std::vector<std::shared_ptr<Flushable>> asked;
  auto q = Queue::open(h.dir, Harness::config(), [&] {
    auto hk = h.hooks();
    hk.request_flush = [&](const std::shared_ptr<Flushable>& f, size_t, bool urgent) {
      if (urgent) asked.push_back(f);
    };
    return hk;
  }());
  ASSERT_TRUE(q.ok());
  int persistent_ok = 0, transient_ok = 0;
  ASSERT_TRUE((*q)->publish(msg("p", std::nullopt, true), [&](status st) { persistent_ok += st.ok(); }).ok());
  ASSERT_TRUE((*q)->publish(msg("t", std::nullopt, false), [&](status st) { transient_ok += st.ok(); }).ok());
  EXPECT_EQ(transient_ok, 1);
  EXPECT_EQ(persistent_ok, 0);
  ASSERT_EQ(asked.size(), 1u);  // one urgent round requested, for the persistent one
  ASSERT_TRUE(flush_now(*asked[0]).ok());
  EXPECT_EQ(persistent_ok, 1);
}

TEST(Queue, TransientQueueConfirmsAtOnceAndStartsEmpty) {
  Harness h;
  auto cfg = Harness::config();
  cfg.durable = false;
  {
    auto q = h.open(cfg);
    int ok = 0;
    ASSERT_TRUE(q->publish(msg("p"), [&](status st) { ok += st.ok(); }).ok());
    EXPECT_EQ(ok, 1);
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open(cfg);
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(Queue, FailedFlushFailsTheConfirm) {
  Harness h;
  storage::FaultInjectionEnv env(storage::Env::posix());
  h.env = &env;
  auto q = h.open();
  status got;
  bool called = false;
  ASSERT_TRUE(q->publish(msg("p"), [&](status st) { called = true; got = st; }).ok());
  env.set_fail_syncs(true);
  EXPECT_FALSE(flush_now(*q).ok());
  ASSERT_TRUE(called);
  EXPECT_EQ(got.code(), Errc::kIo);
}

TEST(Queue, DeferredModeDeliversAtTheEndOfTheTurn) {
  Harness h;
  std::deque<std::function<void()>> tasks;
  h.deferred = &tasks;
  auto q = h.open();
  Recorder r;
  ASSERT_TRUE(q->attach(consumer(r)).ok());
  publish_all(*q, {"1", "2", "3"});
  EXPECT_TRUE(r.got.empty());
  EXPECT_EQ(tasks.size(), 1u);  // one tick for the whole burst
  while (!tasks.empty()) {
    auto t = std::move(tasks.front());
    tasks.pop_front();
    t();
  }
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(Queue, CallbacksMayReenterTheQueue) {
  Harness h;
  auto q = h.open();
  std::vector<std::string> seen;
  ConsumerOptions o;
  o.session = SessionId(1);
  o.prefetch = 1;
  o.deliver = [&](Delivery&& d) {
    seen.push_back(body_of(d));
    if (seen.size() == 1) (void)q->publish(msg("from-callback"));
    (void)q->ack(SessionId(1), d.tag, false);  // ack inline: the next one follows
  };
  ASSERT_TRUE(q->attach(o).ok());
  publish_all(*q, {"1", "2"});
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "from-callback", "2"}));
  EXPECT_EQ(q->unacked_count(), 0u);
}

}  // namespace
}  // namespace wharf::broker::queue
