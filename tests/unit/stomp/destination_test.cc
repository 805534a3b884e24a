#include "stomp/destination.h"

#include <gtest/gtest.h>

namespace wharf::stomp {
namespace {

TEST(Destination, Kinds) {
  auto q = parse_destination("/queue/orders");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->kind, DestKind::kQueue);
  EXPECT_EQ(q->name, "orders");
  EXPECT_EQ(q->send_exchange(), "");
  EXPECT_EQ(q->send_key(), "orders");

  auto t = parse_destination("/topic/prices.eu");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, DestKind::kTopic);
  EXPECT_EQ(t->send_exchange(), "amq.topic");
  EXPECT_EQ(t->send_key(), "prices.eu");

  auto x = parse_destination("/exchange/logs/error.db");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->kind, DestKind::kExchange);
  EXPECT_EQ(x->name, "logs");
  EXPECT_EQ(x->key, "error.db");
  EXPECT_EQ(x->send_exchange(), "logs");
  EXPECT_EQ(x->send_key(), "error.db");

  auto xn = parse_destination("/exchange/fan");
  ASSERT_TRUE(xn.ok());
  EXPECT_EQ(xn->key, "");

  auto a = parse_destination("/amq/queue/q1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, DestKind::kAmqQueue);
  EXPECT_EQ(a->send_key(), "q1");

  auto tmp = parse_destination("/temp-queue/replies");
  ASSERT_TRUE(tmp.ok());
  EXPECT_EQ(tmp->kind, DestKind::kTempQueue);
  EXPECT_EQ(tmp->name, "replies");
}

TEST(Destination, Refused) {
  EXPECT_FALSE(parse_destination("orders").ok());
  EXPECT_FALSE(parse_destination("/queue/").ok());
  EXPECT_FALSE(parse_destination("/exchange//key").ok());
  EXPECT_FALSE(parse_destination("/queue/" + std::string(256, 'q')).ok());
  EXPECT_TRUE(parse_destination("/queue/" + std::string(255, 'q')).ok());
  auto e = parse_destination("/bogus/x");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("/bogus/x"), std::string::npos);
}

TEST(Destination, TopicWildcards) {
  EXPECT_EQ(amqp_topic_pattern("a.b.c"), "a.b.c");
  EXPECT_EQ(amqp_topic_pattern("a.>"), "a.#");
  EXPECT_EQ(amqp_topic_pattern(">"), "#");
  EXPECT_EQ(amqp_topic_pattern("a.*.c"), "a.*.c");
  EXPECT_EQ(amqp_topic_pattern("a.>b"), "a.>b");  // only a whole word is a wildcard
}

TEST(Destination, ShownOnMessages) {
  EXPECT_EQ(destination_of("", "orders"), "/queue/orders");
  EXPECT_EQ(destination_of("amq.topic", "a.b"), "/topic/a.b");
  EXPECT_EQ(destination_of("logs", "error"), "/exchange/logs/error");
  EXPECT_EQ(destination_of("fan", ""), "/exchange/fan");
}

}  // namespace
}  // namespace wharf::stomp
