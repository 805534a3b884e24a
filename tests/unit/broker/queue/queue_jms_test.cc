// JMS consumer features of the queue engine: per-consumer selectors and
// message groups (JMSXGroupID), and the pass-over machinery behind both
// (queue.h, "Selectors and groups").
#include <gtest/gtest.h>

#include "broker/queue/queue.h"
#include "broker/selector/selector.h"
#include "queue_test_util.h"

namespace wharf::broker::queue {
namespace {

using namespace testing;
using Bodies = std::vector<std::string>;

std::shared_ptr<const selector::Selector> sel(std::string_view text) {
  auto s = selector::parse(text);
  EXPECT_TRUE(s.ok()) << text;
  return std::make_shared<const selector::Selector>(std::move(*s));
}

// A message with the header `name` = `value` ("" = no header).
Message with(std::string body, std::string name, std::string value, std::optional<uint8_t> priority = std::nullopt) {
  Message m = msg(std::move(body), priority);
  if (!value.empty()) m.headers.set(name, Value(value));
  return m;
}
Message colored(std::string body, std::string color, std::optional<uint8_t> priority = std::nullopt) {
  return with(std::move(body), "color", std::move(color), priority);
}
Message grouped(std::string body, std::string group) { return with(std::move(body), "JMSXGroupID", std::move(group)); }

void put(Queue& q, const Message& m) {
  auto r = q.publish(m);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(*r, PublishResult::kAccepted);
}

ConsumerOptions selecting(Recorder& r, std::string_view selector, uint64_t session = 1, uint32_t prefetch = 0) {
  ConsumerOptions o = consumer(r, session, prefetch);
  o.selector = sel(selector);
  return o;
}

bool first_for_consumer(const Delivery& d) {
  const Value* v = d.message.headers.find("JMSXGroupFirstForConsumer");
  return v && v->get_if<bool>() && *v->get_if<bool>();
}

// ---------------------------------------------------------------- selectors

TEST(QueueSelector, EachConsumerGetsItsMatchesInOrderAndTheRestStays) {
  Harness h;
  auto q = h.open();
  Recorder red, blue;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  ASSERT_TRUE(q->attach(selecting(blue, "color = 'blue'", 2)).ok());
  for (const char* b : {"r1", "b1", "g1", "r2", "b2", "r3"}) {
    std::string color = b[0] == 'r' ? "red" : b[0] == 'b' ? "blue" : "green";
    put(*q, colored(b, color));
  }
  ASSERT_EQ(red.bodies(), (Bodies{"r1", "r2", "r3"}));
  ASSERT_EQ(blue.bodies(), (Bodies{"b1", "b2"}));
  // g1 matches nobody: still ready, counted, and its bytes too.
  EXPECT_EQ(q->message_count(), 1u);
  EXPECT_EQ(q->ready_bytes(), 2u);
  EXPECT_EQ(q->unacked_count(), 5u);
}

TEST(QueueSelector, ABacklogIsScannedPastTheMessagesAConsumerRejects) {
  Harness h;
  auto q = h.open();
  for (int i = 0; i < 6; ++i) put(*q, colored("m" + std::to_string(i), i % 3 == 2 ? "red" : "blue"));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"m2", "m5"}));
  EXPECT_EQ(q->message_count(), 4u);
}

TEST(QueueSelector, AConsumerAttachingLaterGetsThePassedOverMessagesFirstAndInOrder) {
  Harness h;
  auto q = h.open();
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  put(*q, colored("g1", "green"));
  put(*q, colored("r1", "red"));
  put(*q, colored("g2", "green"));
  ASSERT_EQ(red.bodies(), (Bodies{"r1"}));
  Recorder green;
  ASSERT_TRUE(q->attach(selecting(green, "color = 'green'", 2)).ok());
  put(*q, colored("g3", "green"));
  ASSERT_EQ(green.bodies(), (Bodies{"g1", "g2", "g3"}));
  for (const auto& d : green.got) EXPECT_FALSE(d.redelivered) << body_of(d);  // passed over, never delivered
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(QueueSelector, AConsumerMatchingNothingDoesNotHoldUpAPlainOne) {
  Harness h;
  auto q = h.open();
  Recorder none, plain;
  ASSERT_TRUE(q->attach(selecting(none, "color = 'purple'")).ok());  // first in round-robin order
  ASSERT_TRUE(q->attach(consumer(plain, 2)).ok());
  for (const char* b : {"a", "b", "c"}) put(*q, colored(b, "blue"));
  ASSERT_EQ(plain.bodies(), (Bodies{"a", "b", "c"}));
  EXPECT_TRUE(none.got.empty());
}

TEST(QueueSelector, PriorityLevelsAreScannedHighestFirst) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_priority = 9;
  auto q = h.open(cfg);
  put(*q, colored("low-red", "red", 1));
  put(*q, colored("high-blue", "blue", 9));
  put(*q, colored("mid-red", "red", 5));
  put(*q, colored("mid-red-2", "red", 5));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"mid-red", "mid-red-2", "low-red"}));
  // The higher-priority blue one is still first for anyone else.
  EXPECT_EQ(drain(*q), (Bodies{"high-blue"}));
}

TEST(QueueSelector, ASelectorOnJmsPriority) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_priority = 9;
  auto q = h.open(cfg);
  for (uint8_t p : {2, 7, 4, 8}) put(*q, msg("p" + std::to_string(p), p));
  Recorder high;
  ASSERT_TRUE(q->attach(selecting(high, "JMSPriority > 5")).ok());
  ASSERT_EQ(high.bodies(), (Bodies{"p8", "p7"}));
  EXPECT_EQ(drain(*q), (Bodies{"p4", "p2"}));
}

TEST(QueueSelector, ARequeuedMessageGoesBackToItsPlaceAmongThePassedOverOnes) {
  Harness h;
  auto q = h.open();
  put(*q, colored("b1", "blue"));
  put(*q, colored("r1", "red"));
  put(*q, colored("b2", "blue"));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'", 1, 1)).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"r1"}));
  // Handed back: the red consumer gets it again, flagged redelivered.
  ASSERT_TRUE(q->reject(SessionId(1), red.got[0].tag, false, true).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"r1", "r1"}));
  EXPECT_TRUE(red.got[1].redelivered);
  EXPECT_EQ(red.got[1].delivery_count, 2u);
  // Handed back again with the consumer gone: it is between b1 and b2.
  ASSERT_TRUE(q->cancel(red.got[1].consumer, /*requeue_unacked=*/true).ok());
  EXPECT_EQ(q->message_count(), 3u);
  Recorder plain;
  ASSERT_TRUE(q->attach(consumer(plain, 2)).ok());
  ASSERT_EQ(plain.bodies(), (Bodies{"b1", "r1", "b2"}));
  EXPECT_FALSE(plain.got[0].redelivered);
  EXPECT_TRUE(plain.got[1].redelivered);
  EXPECT_EQ(plain.got[1].delivery_count, 3u);
}

TEST(QueueSelector, ARequeuedMessageBehindTheScanIsSeenAgain) {
  // The red consumer scanned past b1 and b2 before r1 came back below them.
  Harness h;
  auto q = h.open();
  for (const char* b : {"r1", "b1", "b2", "r2"}) put(*q, colored(b, b[0] == 'r' ? "red" : "blue"));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'", 1, /*prefetch=*/2)).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"r1", "r2"}));
  ASSERT_TRUE(q->reject(SessionId(1), red.got[0].tag, false, true).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"r1", "r2", "r1"}));
  EXPECT_TRUE(red.got[2].redelivered);
  EXPECT_EQ(q->message_count(), 2u);
}

TEST(QueueSelector, APassedOverMessageDeliveredAndRequeuedComesBackInItsPlace) {
  Harness h;
  auto q = h.open();
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  for (const char* b : {"g1", "r1", "g2", "g3"}) put(*q, colored(b, b[0] == 'r' ? "red" : "green"));
  ASSERT_EQ(red.bodies(), (Bodies{"r1"}));
  ASSERT_EQ(q->message_count(), 3u);  // all three passed over
  Recorder green;
  ASSERT_TRUE(q->attach(selecting(green, "color = 'green'", 2, /*prefetch=*/1)).ok());
  ASSERT_EQ(green.bodies(), (Bodies{"g1"}));
  EXPECT_FALSE(green.got[0].redelivered);
  EXPECT_EQ(q->message_count(), 2u);
  ASSERT_TRUE(q->reject(SessionId(2), green.got[0].tag, false, true).ok());
  // Back ahead of g2 and g3, counted as delivered once.
  ASSERT_EQ(green.bodies(), (Bodies{"g1", "g1"}));
  EXPECT_TRUE(green.got[1].redelivered);
  EXPECT_EQ(green.got[1].delivery_count, 2u);
  ASSERT_TRUE(q->ack(SessionId(2), green.got[1].tag, false).ok());
  ASSERT_TRUE(q->ack(SessionId(2), DeliveryTag(0), true).ok());
  ASSERT_TRUE(q->ack(SessionId(2), DeliveryTag(0), true).ok());
  ASSERT_EQ(green.bodies(), (Bodies{"g1", "g1", "g2", "g3"}));
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(QueueSelector, HandOffNeverGivesAConsumerWhatItsSelectorRejects) {
  // Transient queue, transient messages, a no-ack consumer, nothing ready:
  // the case where messages are handed over without being stored.
  Harness h;
  auto cfg = Harness::config();
  cfg.durable = false;
  auto q = h.open(cfg);
  Recorder red;
  auto o = selecting(red, "color = 'red'");
  o.no_ack = true;
  ASSERT_TRUE(q->attach(std::move(o)).ok());
  Message blue = colored("b1", "blue");
  blue.props.delivery_mode = kDeliveryModeTransient;
  Message r = colored("r1", "red");
  r.props.delivery_mode = kDeliveryModeTransient;
  put(*q, blue);
  put(*q, r);
  ASSERT_EQ(red.bodies(), (Bodies{"r1"}));
  EXPECT_EQ(q->message_count(), 1u);
  EXPECT_EQ(drain(*q), (Bodies{"b1"}));
}

TEST(QueueSelector, PassedOverMessagesComeBackAfterARestartAndNothingElseDoes) {
  Harness h;
  {
    auto q = h.open();
    Recorder red;
    ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
    for (const char* b : {"g1", "r1", "g2", "r2"}) put(*q, colored(b, b[0] == 'r' ? "red" : "green"));
    ASSERT_EQ(red.bodies(), (Bodies{"r1", "r2"}));
    ASSERT_TRUE(q->ack(SessionId(1), DeliveryTag(0), true).ok());
    ASSERT_TRUE(q->cancel(red.got[0].consumer).ok());
    put(*q, colored("g3", "green"));  // nobody scans past it: it stays at the cursor
    ASSERT_EQ(q->message_count(), 3u);
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open();
  EXPECT_EQ(q->message_count(), 3u);
  Recorder plain;
  ASSERT_TRUE(q->attach(consumer(plain)).ok());
  ASSERT_EQ(plain.bodies(), (Bodies{"g1", "g2", "g3"}));
  // g1 and g2 sat behind the cursor at the restart (counted as delivered
  // once, like any unsettled message then); g3 was never passed over.
  EXPECT_TRUE(plain.got[0].redelivered);
  EXPECT_FALSE(plain.got[2].redelivered);
}

TEST(QueueSelector, PassedOverMessagesSurviveAKillDashNine) {
  Harness h;
  {
    auto q = h.open();
    Recorder red;
    ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
    for (const char* b : {"g1", "r1", "g2", "r2"}) put(*q, colored(b, b[0] == 'r' ? "red" : "green"));
    ASSERT_TRUE(q->ack(SessionId(1), DeliveryTag(0), true).ok());
    // No close(): the object goes away as in kill -9 (the page cache stays).
  }
  auto q = h.open();
  EXPECT_EQ(drain(*q), (Bodies{"g1", "g2"}));
}

TEST(QueueSelector, PassingOverStopsAtTheLimitAndResumesAsTheHeldMessagesGo) {
  Harness h;
  auto cfg = Harness::config();
  cfg.pass_over_limit = 5;
  auto q = h.open(cfg);
  for (int i = 0; i < 10; ++i) put(*q, colored("b" + std::to_string(i), "blue"));
  put(*q, colored("r", "red"));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  // Five blue messages were passed over; the sixth waits at the cursor, and
  // so does everything past it.
  EXPECT_TRUE(red.got.empty());
  EXPECT_EQ(q->message_count(), 11u);
  EXPECT_EQ(q->tracked_entries(), 5u);
  // A plain consumer drains the blue ones in order; as the held ones go, the
  // red consumer scans on and finds its message.
  Recorder plain;
  auto o = consumer(plain, 2);
  o.no_ack = true;
  ASSERT_TRUE(q->attach(std::move(o)).ok());
  ASSERT_EQ(red.bodies(), (Bodies{"r"}));
  Bodies blues;
  for (int i = 0; i < 10; ++i) blues.push_back("b" + std::to_string(i));
  ASSERT_EQ(plain.bodies(), blues);
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(QueueSelector, PassingOverStopsAtTheByteLimitToo) {
  Harness h;
  auto cfg = Harness::config();
  cfg.pass_over_limit_bytes = 10;
  auto q = h.open(cfg);
  for (int i = 0; i < 4; ++i) put(*q, colored(std::string(4, char('a' + i)), "blue"));  // 4 bytes each
  put(*q, colored("r", "red"));
  Recorder red;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'")).ok());
  EXPECT_TRUE(red.got.empty());
  EXPECT_EQ(q->tracked_entries(), 3u);  // 12 bytes held: the limit of 10 was crossed by the third
  (void)q->get(SessionId(3), true);
  (void)q->get(SessionId(3), true);
  q->expire();  // any call dispatches again
  ASSERT_EQ(red.bodies(), (Bodies{"r"}));
}

// ---------------------------------------------------------------- groups

TEST(QueueGroups, AGroupSticksToOneConsumerAndGroupsSpread) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x1", "X"));
  put(*q, grouped("y1", "Y"));
  put(*q, grouped("x2", "X"));
  put(*q, grouped("x3", "X"));
  put(*q, grouped("y2", "Y"));
  put(*q, msg("u1"));  // ungrouped: round robin as usual (A took x3 last, B y2)
  put(*q, msg("u2"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2", "x3", "u1"}));
  ASSERT_EQ(b.bodies(), (Bodies{"y1", "y2", "u2"}));
  EXPECT_TRUE(first_for_consumer(a.got[0]));
  EXPECT_TRUE(first_for_consumer(b.got[0]));
  EXPECT_FALSE(first_for_consumer(a.got[1]));
  EXPECT_FALSE(first_for_consumer(b.got[1]));
  EXPECT_FALSE(first_for_consumer(b.got[2]));
}

TEST(QueueGroups, ACancelledOwnersGroupsMoveOn) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  auto ida = q->attach(consumer(a, 1));
  ASSERT_TRUE(ida.ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x1", "X"));
  put(*q, grouped("x2", "X"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2"}));
  ASSERT_TRUE(q->cancel(*ida).ok());
  put(*q, grouped("x3", "X"));
  ASSERT_EQ(b.bodies(), (Bodies{"x3"}));
  EXPECT_TRUE(first_for_consumer(b.got[0]));
}

TEST(QueueGroups, AClosedSessionsUnackedGroupMessagesGoToTheNewOwnerInOrder) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  put(*q, grouped("x1", "X"));
  put(*q, grouped("x2", "X"));
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x3", "X"));  // still A's group
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2", "x3"}));
  ASSERT_TRUE(b.got.empty());
  EXPECT_EQ(q->close_session(SessionId(1)), 3u);
  put(*q, grouped("x4", "X"));
  ASSERT_EQ(b.bodies(), (Bodies{"x1", "x2", "x3", "x4"}));
  EXPECT_TRUE(first_for_consumer(b.got[0]));
  EXPECT_TRUE(b.got[0].redelivered);
}

TEST(QueueGroups, AnOwnerAtItsPrefetchLimitHoldsOnlyItsOwnGroup) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1, /*prefetch=*/1)).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x1", "X"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1"}));  // A is full now
  put(*q, grouped("x2", "X"));
  put(*q, grouped("y1", "Y"));
  put(*q, msg("u1"));
  put(*q, grouped("x3", "X"));
  put(*q, grouped("z1", "Z"));
  ASSERT_EQ(b.bodies(), (Bodies{"y1", "u1", "z1"}));
  EXPECT_EQ(q->message_count(), 2u);  // x2, x3 wait for A
  ASSERT_TRUE(q->ack(SessionId(1), a.got[0].tag, false).ok());
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2"}));
  ASSERT_TRUE(q->ack(SessionId(1), a.got[1].tag, false).ok());
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2", "x3"}));
  EXPECT_EQ(q->message_count(), 0u);
}

TEST(QueueGroups, SequenceMinusOneClosesTheGroup) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x1", "X"));
  Message last = grouped("x2", "X");
  last.headers.set("JMSXGroupSeq", Value("-1"));  // as STOMP sends it: text
  put(*q, last);
  put(*q, msg("u1"));  // to B (round robin)
  put(*q, grouped("x3", "X"));  // a new group X: the next consumer in turn, A
  put(*q, grouped("x4", "X"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2", "x3", "x4"}));
  ASSERT_EQ(b.bodies(), (Bodies{"u1"}));
  EXPECT_TRUE(first_for_consumer(a.got[2]));  // x3 starts the group anew
}

TEST(QueueGroups, HeldMessagesOfAGroupGoToTheNextOwnerWhenTheOwnerLeaves) {
  // B scanned past x2 and x3 while A owned X; once A is gone they are B's,
  // in order, with A's unacked x1 ahead of them.
  Harness h;
  auto q = h.open();
  Recorder a, b;
  auto ida = q->attach(consumer(a, 1, /*prefetch=*/1));
  ASSERT_TRUE(ida.ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  put(*q, grouped("x1", "X"));
  put(*q, grouped("x2", "X"));
  put(*q, grouped("x3", "X"));
  put(*q, msg("u1"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1"}));
  ASSERT_EQ(b.bodies(), (Bodies{"u1"}));
  ASSERT_TRUE(q->cancel(*ida, /*requeue_unacked=*/true).ok());
  ASSERT_EQ(b.bodies(), (Bodies{"u1", "x1", "x2", "x3"}));
  EXPECT_TRUE(first_for_consumer(b.got[1]));
}

TEST(QueueGroups, HeldMessagesOfAGroupGoToTheNextOwnerWhenTheOwnerIsCancelled) {
  // As above, without requeueing A's unacked x1 (AMQP basic.cancel): only
  // the group's release tells B that x2 and x3 are now open to it.
  Harness h;
  auto q = h.open();
  Recorder a, b;
  auto ida = q->attach(consumer(a, 1, /*prefetch=*/1));
  ASSERT_TRUE(ida.ok());
  ASSERT_TRUE(q->attach(selecting(b, "JMSXGroupID IS NOT NULL", 2)).ok());
  put(*q, grouped("x1", "X"));
  put(*q, grouped("x2", "X"));
  put(*q, grouped("x3", "X"));
  put(*q, grouped("y1", "Y"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1"}));
  ASSERT_EQ(b.bodies(), (Bodies{"y1"}));
  ASSERT_TRUE(q->cancel(*ida).ok());
  ASSERT_EQ(b.bodies(), (Bodies{"y1", "x2", "x3"}));
  EXPECT_TRUE(first_for_consumer(b.got[1]));
}

TEST(QueueGroups, HeldMessagesAfterTheClosingOneStartANewGroup) {
  Harness h;
  auto q = h.open();
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1, /*prefetch=*/1)).ok());
  // B's selector matches everything: it keeps the queue filtering after X
  // closes, so B's scan marks are what finds x3.
  ASSERT_TRUE(q->attach(selecting(b, "JMSXGroupID IS NOT NULL", 2)).ok());
  put(*q, grouped("x1", "X"));
  Message last = grouped("x2", "X");
  last.headers.set("JMSXGroupSeq", Value(int64_t(-1)));
  put(*q, last);
  put(*q, grouped("x3", "X"));  // held for A, like x2
  ASSERT_EQ(a.bodies(), (Bodies{"x1"}));
  ASSERT_TRUE(b.got.empty());
  ASSERT_TRUE(q->ack(SessionId(1), a.got[0].tag, false).ok());
  // x2 ends A's group; x3 opens a new one for B, whom A's full prefetch
  // leaves as the only taker.
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x2"}));
  ASSERT_EQ(b.bodies(), (Bodies{"x3"}));
  EXPECT_TRUE(first_for_consumer(b.got[0]));
}

TEST(QueueGroups, PastMaxGroupsTheLeastRecentlyUsedGroupLosesItsOwner) {
  Harness h;
  auto cfg = Harness::config();
  cfg.max_groups = 2;
  auto q = h.open(cfg);
  Recorder a;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  for (auto [body, group] : std::vector<std::pair<const char*, const char*>>{
           {"x1", "X"}, {"y1", "Y"}, {"x2", "X"}, {"z1", "Z"}, {"x3", "X"}, {"y2", "Y"}}) {
    put(*q, grouped(body, group));
  }
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "y1", "x2", "z1", "x3", "y2"}));
  std::vector<bool> firsts;
  for (const auto& d : a.got) firsts.push_back(first_for_consumer(d));
  // z1 pushed out Y (X was used more recently): y2 starts Y again.
  EXPECT_EQ(firsts, (std::vector<bool>{true, true, false, true, false, true}));
}

TEST(QueueGroups, GroupsAndSelectorsTogether) {
  Harness h;
  auto q = h.open();
  Recorder red, any;
  ASSERT_TRUE(q->attach(selecting(red, "color = 'red'", 1)).ok());
  ASSERT_TRUE(q->attach(consumer(any, 2)).ok());
  // The first X message is blue: the plain consumer owns X from then on,
  // red ones included.
  Message x1 = grouped("x1", "X");
  x1.headers.set("color", Value("blue"));
  Message x2 = grouped("x2", "X");
  x2.headers.set("color", Value("red"));
  put(*q, x1);
  put(*q, x2);
  put(*q, colored("r1", "red"));
  ASSERT_EQ(any.bodies(), (Bodies{"x1", "x2"}));
  ASSERT_EQ(red.bodies(), (Bodies{"r1"}));
}

TEST(QueueGroups, NoGroupsWhenTheHeaderNameIsEmpty) {
  Harness h;
  auto cfg = Harness::config();
  cfg.group_header = "";
  auto q = h.open(cfg);
  Recorder a, b;
  ASSERT_TRUE(q->attach(consumer(a, 1)).ok());
  ASSERT_TRUE(q->attach(consumer(b, 2)).ok());
  for (const char* x : {"x1", "x2", "x3"}) put(*q, grouped(x, "X"));
  ASSERT_EQ(a.bodies(), (Bodies{"x1", "x3"}));
  ASSERT_EQ(b.bodies(), (Bodies{"x2"}));
  EXPECT_FALSE(first_for_consumer(a.got[0]));
}

}  // namespace
}  // namespace wharf::broker::queue
