#include "stomp/message_map.h"

#include <gtest/gtest.h>

#include "stomp/protocol/frame_parser.h"

namespace wharf::stomp {
namespace {

namespace queue = broker::queue;

Frame send_frame(std::vector<std::pair<std::string, std::string>> headers, std::string body = "hi") {
  Frame f;
  f.command = "SEND";
  f.headers = std::move(headers);
  f.body = std::move(body);
  return f;
}

TEST(MessageMap, SendHeadersBecomeProperties) {
  auto m = message_of(send_frame({{"destination", "/queue/q"},
                                  {"receipt", "r1"},
                                  {"content-type", "text/plain"},
                                  {"persistent", "true"},
                                  {"priority", "7"},
                                  {"expires", "10500"},
                                  {"correlation-id", "c1"},
                                  {"reply-to", "/queue/replies"},
                                  {"type", "order"},
                                  {"amqp-message-id", "m-1"},
                                  {"color", "red"},
                                  {"color", "blue"}}),
                      "", "q", 10000);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->routing_key, "q");
  EXPECT_EQ(m->props.content_type, "text/plain");
  EXPECT_TRUE(m->props.persistent());
  EXPECT_EQ(m->props.priority, 7);
  EXPECT_EQ(m->props.expiration_ms, 500);
  EXPECT_EQ(m->props.correlation_id, "c1");
  EXPECT_EQ(m->props.reply_to, "/queue/replies");
  EXPECT_EQ(m->props.type, "order");
  EXPECT_EQ(m->props.message_id, "m-1");
  EXPECT_EQ(m->props.timestamp, 10);
  // Frame-only headers are not kept; a repeated header keeps its first value.
  EXPECT_EQ(m->headers.find("destination"), nullptr);
  EXPECT_EQ(m->headers.find("receipt"), nullptr);
  ASSERT_NE(m->headers.find("color"), nullptr);
  EXPECT_EQ(*m->headers.find("color")->get_if<std::string>(), "red");
  EXPECT_EQ(m->headers.size(), 1u);
  EXPECT_EQ(m->body.view(), "hi");
}

TEST(MessageMap, Defaults) {
  auto m = message_of(send_frame({{"destination", "/queue/q"}}), "", "q", 0);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->props.persistent());          // ActiveMQ's STOMP default
  EXPECT_EQ(m->props.priority, kDefaultPriority);  // JMS's 4
  EXPECT_FALSE(m->props.expiration_ms);
}

TEST(MessageMap, PriorityClampedAndPastExpiry) {
  auto m = message_of(send_frame({{"priority", "42"}, {"expires", "5"}}), "", "q", 1000);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->props.priority, kMaxPriority);
  EXPECT_EQ(m->props.expiration_ms, 0);  // already expired: a TTL of 0
  auto never = message_of(send_frame({{"expires", "0"}}), "", "q", 1000);
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->props.expiration_ms);
}

TEST(MessageMap, BadValuesRefused) {
  EXPECT_FALSE(message_of(send_frame({{"priority", "high"}}), "", "q", 0).ok());
  EXPECT_FALSE(message_of(send_frame({{"expires", "-3"}}), "", "q", 0).ok());
  EXPECT_FALSE(message_of(send_frame({{"persistent", "yes"}}), "", "q", 0).ok());
}

// Parses what append_message_frame wrote.
Frame parse_written(const OutBuffer& out, Version v) {
  auto bytes = out.to_bytes();
  FrameParser p;
  p.set_version(v);
  p.feed(std::span<const uint8_t>(bytes.data(), bytes.size()));
  auto r = p.next();
  EXPECT_EQ(r.status, FrameParse::kFrame) << r.error.message;
  return r.frame;
}

TEST(MessageMap, MessageFrameRoundTrip) {
  queue::Delivery d;
  d.redelivered = true;
  d.delivery_count = 3;
  d.enqueued_at_ms = 5000;
  d.message.exchange = "amq.topic";
  d.message.routing_key = "a.b";
  d.message.props.content_type = "application/json";
  d.message.props.delivery_mode = queue::kDeliveryModePersistent;
  d.message.props.expiration_ms = 250;
  d.message.props.correlation_id = "c";
  d.message.headers.add("note", queue::Value(std::string("a:b\nc\\d")));
  d.message.headers.add("count", queue::Value(int64_t(12)));
  d.message.headers.add("nested", queue::Value(queue::Table{}));
  std::string body("x\0y", 3);
  d.message.body = queue::Body::copy_of(body);

  MessageMeta meta{"sub-1", "ID:wharf-1-7", "ID:wharf-1-7", "/topic/a.b"};
  for (Version v : {Version::k1_1, Version::k1_2}) {
    OutBuffer out;
    append_message_frame(d, meta, v, out);
    Frame f = parse_written(out, v);
    EXPECT_EQ(f.command, "MESSAGE");
    EXPECT_EQ(f.header("subscription"), "sub-1");
    EXPECT_EQ(f.header("message-id"), "ID:wharf-1-7");
    EXPECT_EQ(f.header("ack"), "ID:wharf-1-7");
    EXPECT_EQ(f.header("destination"), "/topic/a.b");
    EXPECT_EQ(f.header("content-type"), "application/json");
    EXPECT_EQ(f.header("persistent"), "true");
    EXPECT_EQ(f.header("priority"), "4");
    EXPECT_EQ(f.header("timestamp"), "5000");
    EXPECT_EQ(f.header("expires"), "5250");
    EXPECT_EQ(f.header("redelivered"), "true");
    EXPECT_EQ(f.header("JMSXDeliveryCount"), "3");
    EXPECT_EQ(f.header("correlation-id"), "c");
    EXPECT_EQ(f.header("note"), "a:b\nc\\d");  // escaped on the wire, intact after parsing
    EXPECT_EQ(f.header("count"), "12");
    EXPECT_FALSE(f.header("nested"));  // tables have no STOMP form
    EXPECT_EQ(f.body, body);           // content-length carries the NUL
  }
}

TEST(MessageMap, DeadLetteredShowsWhereFrom) {
  queue::Delivery d;
  queue::record_death(d.message, "orders", queue::DeathReason::kDeliveryLimit, 100);
  queue::record_death(d.message, "DLQ.orders", queue::DeathReason::kExpired, 200);
  MessageMeta meta{"s", "m", "", "/queue/DLQ.orders"};
  OutBuffer out;
  append_message_frame(d, meta, Version::k1_2, out);
  Frame f = parse_written(out, Version::k1_2);
  EXPECT_EQ(f.header("original-destination"), "/queue/orders");
  EXPECT_EQ(f.header("x-first-death-queue"), "orders");
  EXPECT_EQ(f.header("x-first-death-reason"), "delivery_limit");
}

TEST(MessageMap, Stomp10CannotEscape) {
  queue::Delivery d;
  d.message.headers.add("note", queue::Value(std::string("first\nsecond")));
  d.message.body = queue::Body::copy_of(std::string_view("b"));
  MessageMeta meta{"s", "m", "", "/queue/q"};
  OutBuffer out;
  append_message_frame(d, meta, Version::k1_0, out);
  Frame f = parse_written(out, Version::k1_0);
  EXPECT_EQ(f.header("note"), "first");  // cut at the line break, frame intact
  EXPECT_FALSE(f.header("ack"));
  EXPECT_EQ(f.body, "b");
}

}  // namespace
}  // namespace wharf::stomp
