// Content header frames: property flags and the basic properties, none,
// some and all present; malformed headers.
#include <gtest/gtest.h>

#include "amqp/protocol/content_header.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using msg::BasicProperties;
using test::be32;
using test::Bytes;
using test::cat;
using test::shortstr;
using test::write_with;

Bytes encode_header(const ContentHeader& h) {
  return write_with([&](Writer& w) { encode_content_header(h, w); });
}

const Bytes kPrefix = {0x00, 0x3c, 0x00, 0x00};  // class 60, weight 0

TEST(ContentHeader, NoProperties) {
  ContentHeader h;
  h.body_size = 5;
  const Bytes expected = cat({kPrefix, {0, 0, 0, 0, 0, 0, 0, 5}, {0x00, 0x00}});
  EXPECT_EQ(encode_header(h), expected);
  auto back = decode_content_header(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
}

TEST(ContentHeader, SomeProperties) {
  // What pika sends for a persistent JSON message.
  ContentHeader h;
  h.body_size = 0x100;
  h.properties.content_type = "application/json";
  h.properties.delivery_mode = 2;
  h.properties.message_id = "m1";
  const Bytes expected = cat({
      kPrefix,
      {0, 0, 0, 0, 0, 0, 0x01, 0x00},
      {0x90, 0x80},  // content-type (bit 15), delivery-mode (bit 12), message-id (bit 7)
      shortstr("application/json"),
      {0x02},
      shortstr("m1"),
  });
  EXPECT_EQ(h.properties.flags(), 0x9080);
  EXPECT_EQ(encode_header(h), expected);
  auto back = decode_content_header(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_FALSE(back->properties.headers.has_value());
  EXPECT_FALSE(back->properties.priority.has_value());
}

TEST(ContentHeader, AllProperties) {
  ContentHeader h;
  h.body_size = 1;
  auto& p = h.properties;
  p.content_type = "text/plain";
  p.content_encoding = "gzip";
  p.headers = FieldTable().set("x-retry", int32_t(3));
  p.delivery_mode = 1;
  p.priority = 9;
  p.correlation_id = "c";
  p.reply_to = "amq.rabbitmq.reply-to";
  p.expiration = "60000";
  p.message_id = "id";
  p.timestamp = 1700000000;
  p.type = "t";
  p.user_id = "guest";
  p.app_id = "app";
  p.cluster_id = "";  // present but empty is not absent
  EXPECT_EQ(p.flags(), 0xfffc);
  const Bytes expected = cat({
      kPrefix,
      {0, 0, 0, 0, 0, 0, 0, 1},
      {0xff, 0xfc},
      shortstr("text/plain"),
      shortstr("gzip"),
      cat({be32(13), shortstr("x-retry"), {'I', 0, 0, 0, 3}}),
      {0x01},
      {0x09},
      shortstr("c"),
      shortstr("amq.rabbitmq.reply-to"),
      shortstr("60000"),
      shortstr("id"),
      {0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00},
      shortstr("t"),
      shortstr("guest"),
      shortstr("app"),
      shortstr(""),
  });
  EXPECT_EQ(encode_header(h), expected);
  auto back = decode_content_header(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);

  for (size_t n = 0; n < expected.size(); ++n) {
    EXPECT_FALSE(decode_content_header(std::span<const uint8_t>(expected.data(), n)).ok()) << "prefix " << n;
  }
}

TEST(ContentHeader, EachPropertyAloneUsesItsFlag) {
  const uint16_t flags[] = {BasicProperties::kContentTypeFlag, BasicProperties::kContentEncodingFlag,
                            BasicProperties::kHeadersFlag,     BasicProperties::kDeliveryModeFlag,
                            BasicProperties::kPriorityFlag,    BasicProperties::kCorrelationIdFlag,
                            BasicProperties::kReplyToFlag,     BasicProperties::kExpirationFlag,
                            BasicProperties::kMessageIdFlag,   BasicProperties::kTimestampFlag,
                            BasicProperties::kTypeFlag,        BasicProperties::kUserIdFlag,
                            BasicProperties::kAppIdFlag,       BasicProperties::kClusterIdFlag};
  for (int i = 0; i < 14; ++i) EXPECT_EQ(flags[i], 1 << (15 - i));
  BasicProperties p;
  p.priority = 0;
  EXPECT_EQ(p.flags(), 0x0800);
  p = {};
  p.timestamp = 0;
  EXPECT_EQ(p.flags(), 0x0040);
}

TEST(ContentHeader, WeightIsIgnored) {
  Bytes wire = cat({{0x00, 0x3c, 0x12, 0x34}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0}});
  auto h = decode_content_header(wire);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(encode_header(*h)[3], 0);
}

TEST(ContentHeader, ContinuationFlagWordsWithoutFlagsAreAccepted) {
  Bytes wire = cat({kPrefix, {0, 0, 0, 0, 0, 0, 0, 0}, {0x80, 0x01}, {0x00, 0x01}, {0x00, 0x00}, shortstr("a/b")});
  auto h = decode_content_header(wire);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->properties.content_type, "a/b");
}

TEST(ContentHeaderHostile, Rejected) {
  const Bytes size = {0, 0, 0, 0, 0, 0, 0, 1};
  struct Case {
    const char* why;
    Bytes wire;
  };
  for (const auto& c : {
           Case{"class without content", cat({{0x00, 0x32, 0, 0}, size, {0, 0}})},
           Case{"undefined property bit 1", cat({kPrefix, size, {0x00, 0x02}})},
           Case{"flag in a continuation word", cat({kPrefix, size, {0x00, 0x01}, {0x80, 0x00}})},
           Case{"continuation word missing", cat({kPrefix, size, {0x00, 0x01}})},
           Case{"flagged property missing", cat({kPrefix, size, {0x80, 0x00}})},
           Case{"trailing bytes", cat({kPrefix, size, {0x00, 0x00}, {0x00}})},
           Case{"headers table past the end", cat({kPrefix, size, {0x20, 0x00}, be32(1000)})},
           Case{"too short", Bytes{0x00, 0x3c, 0x00}},
       }) {
    auto h = decode_content_header(c.wire);
    EXPECT_FALSE(h.ok()) << c.why;
    EXPECT_EQ(h.code(), Errc::kInvalidArgument) << c.why;
  }
}

}  // namespace
}  // namespace wharf::amqp
