// Generated methods: round trips of every method, bit packing, bytes computed
// by hand from the spec, the method table, and malformed payloads.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "amqp/protocol/generated/constants.h"
#include "amqp/protocol/generated/methods.h"
#include "generated/method_samples.h"
#include "test_util.h"

namespace wharf::amqp::msg {
namespace {

using test::be32;
using test::Bytes;
using test::cat;
using test::longstr;
using test::method_payload;
using test::shortstr;
using test::str_bytes;

// ---------------------------------------------------------------- round trips

TEST(Methods, EverySampleRoundTrips) {
  auto samples = test::method_samples();
  std::set<MethodId> seen;
  for (const auto& m : samples) {
    SCOPED_TRACE(std::string(name_of(m)));
    seen.insert(id_of(m));
    Bytes b = method_payload(m);
    auto back = decode_method_payload(b);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(*back == m);
    EXPECT_EQ(method_payload(*back), b);
  }
  EXPECT_EQ(seen.size(), std::size(kMethods)) << "a method has no sample";
}

TEST(Methods, SamplesDifferFromDefaults) {
  // Guards the round-trip test: a sample equal to the default object would
  // not prove that the fields are encoded at all.
  for (const auto& m : test::method_samples()) {
    std::visit(
        [&](const auto& x) {
          using M = std::decay_t<decltype(x)>;
          if (method_payload(M{}) != method_payload(x) || method_payload(M{}).size() == 4) return;
          ADD_FAILURE() << x.kName << " sample encodes like the default";
        },
        m);
  }
}

TEST(Methods, EveryStrictPrefixFailsToDecode) {
  for (const auto& m : test::method_samples()) {
    Bytes b = method_payload(m);
    for (size_t n = 0; n < b.size(); ++n) {
      auto r = decode_method_payload(std::span<const uint8_t>(b.data(), n));
      EXPECT_FALSE(r.ok()) << name_of(m) << " prefix " << n << " of " << b.size();
    }
  }
}

TEST(Methods, TrailingBytesAreAnError) {
  Bytes b = method_payload(BasicAck{});
  b.push_back(0);
  auto r = decode_method_payload(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("basic.ack"), std::string::npos);
}

TEST(Methods, UnknownMethodIsUnsupported) {
  for (Bytes b : {Bytes{0, 50, 0, 99}, Bytes{0, 99, 0, 10}, Bytes{0xff, 0xff, 0xff, 0xff}}) {
    auto r = decode_method_payload(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), Errc::kUnsupported);
  }
  auto r = decode_method_payload(Bytes{0, 10});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kInvalidArgument);
}

TEST(Methods, SpecDefaults) {
  ConnectionStart s;
  EXPECT_EQ(s.version_major, 0);
  EXPECT_EQ(s.version_minor, 9);
  EXPECT_EQ(s.mechanisms, "PLAIN");
  EXPECT_EQ(s.locales, "en_US");
  EXPECT_EQ(ConnectionOpen{}.virtual_host, "/");
  EXPECT_EQ(ExchangeDeclare{}.type, "direct");
  EXPECT_TRUE(BasicReject{}.requeue);
  EXPECT_TRUE(BasicNack{}.requeue);
  EXPECT_FALSE(BasicNack{}.multiple);
  EXPECT_EQ(AccessRequestOk{}.ticket, 1);
}

// ---------------------------------------------------------------- bit packing

TEST(BitPacking, QueueDeclareFiveBitsShareOneOctet) {
  // ticket, queue, then passive/durable/exclusive/auto-delete/nowait in bits
  // 0..4 of one octet, then the arguments table.
  struct Case {
    bool passive, durable, exclusive, auto_delete, nowait;
    uint8_t octet;
  };
  for (const Case& c : {Case{false, false, false, false, false, 0x00}, Case{true, false, false, false, false, 0x01},
                        Case{false, true, false, false, false, 0x02}, Case{false, false, true, false, false, 0x04},
                        Case{false, false, false, true, false, 0x08}, Case{false, false, false, false, true, 0x10},
                        Case{false, true, false, true, false, 0x0a}, Case{true, true, true, true, true, 0x1f}}) {
    QueueDeclare q;
    q.queue = "q";
    q.passive = c.passive;
    q.durable = c.durable;
    q.exclusive = c.exclusive;
    q.auto_delete = c.auto_delete;
    q.nowait = c.nowait;
    Bytes expected = cat({{0, 50, 0, 10}, {0, 0}, shortstr("q"), {c.octet}, be32(0)});
    EXPECT_EQ(method_payload(q), expected);
    auto back = decode_method_payload(expected);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(std::get<QueueDeclare>(*back) == q);
  }
}

TEST(BitPacking, BasicPublishMandatoryAndImmediate) {
  for (int bits = 0; bits < 4; ++bits) {
    BasicPublish p;
    p.exchange = "ex";
    p.routing_key = "rk";
    p.mandatory = bits & 1;
    p.immediate = bits & 2;
    Bytes expected = cat({{0, 60, 0, 40}, {0, 0}, shortstr("ex"), shortstr("rk"), {uint8_t(bits)}});
    EXPECT_EQ(method_payload(p), expected);
  }
}

TEST(BitPacking, UnusedBitsAreIgnoredOnDecode) {
  // Only bits 0 and 1 mean something for basic.publish; RabbitMQ ignores
  // the others and so do we. Re-encoding clears them.
  Bytes wire = cat({{0, 60, 0, 40}, {0, 0}, shortstr(""), shortstr("rk"), {0xfd}});
  auto r = decode_method_payload(wire);
  ASSERT_TRUE(r.ok());
  const auto& p = std::get<BasicPublish>(*r);
  EXPECT_TRUE(p.mandatory);
  EXPECT_FALSE(p.immediate);
  EXPECT_EQ(method_payload(p).back(), 0x01);
}

TEST(BitPacking, BitsSeparatedByOtherFieldsUseSeparateOctets) {
  // basic.deliver: consumer-tag, delivery-tag, redelivered (bit), exchange,
  // routing-key: the bit takes a whole octet of its own.
  BasicDeliver d;
  d.redelivered = true;
  Bytes b = method_payload(d);
  EXPECT_EQ(b, cat({{0, 60, 0, 60}, shortstr(""), {0, 0, 0, 0, 0, 0, 0, 0}, {0x01}, shortstr(""), shortstr("")}));
}

// ---------------------------------------------------------------- known bytes

// connection.start as a broker sends it: version 0-9, server-properties with
// a nested capabilities table, mechanisms and locales as long strings.
TEST(KnownBytes, ConnectionStart) {
  ConnectionStart s;
  s.server_properties.set("product", "Wharf");
  s.server_properties.set("capabilities", FieldTable().set("publisher_confirms", true));
  s.mechanisms = "PLAIN AMQPLAIN";

  const Bytes capabilities_entry = cat({shortstr("capabilities"), {'F'}, be32(21),  // 1+18 + 1 + 1
                                        shortstr("publisher_confirms"), {'t', 0x01}});
  const Bytes product_entry = cat({shortstr("product"), {'S'}, be32(5), str_bytes("Wharf")});
  ASSERT_EQ(product_entry.size(), 18u);
  ASSERT_EQ(capabilities_entry.size(), 39u);
  const Bytes expected = cat({
      {0x00, 0x0a, 0x00, 0x0a},  // class 10 connection, method 10 start
      {0x00, 0x09},              // version-major 0, version-minor 9
      be32(57), product_entry, capabilities_entry,
      longstr("PLAIN AMQPLAIN"),
      longstr("en_US"),
  });
  EXPECT_EQ(method_payload(s), expected);
  auto back = decode_method_payload(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::get<ConnectionStart>(*back) == s);
}

TEST(KnownBytes, BasicPublish) {
  BasicPublish p;
  p.exchange = "amq.topic";
  p.routing_key = "a.b";
  p.mandatory = true;
  const Bytes expected = cat({
      {0x00, 0x3c, 0x00, 0x28},  // class 60 basic, method 40 publish
      {0x00, 0x00},              // ticket
      {0x09}, str_bytes("amq.topic"),
      {0x03}, str_bytes("a.b"),
      {0x01},                    // mandatory = bit 0, immediate = bit 1
  });
  EXPECT_EQ(method_payload(p), expected);
  auto back = decode_method_payload(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::get<BasicPublish>(*back) == p);
}

TEST(KnownBytes, BasicDeliver) {
  BasicDeliver d;
  d.consumer_tag = "amq.ctag-1";
  d.delivery_tag = 0x0102030405060708ull;
  d.redelivered = false;
  d.exchange = "";
  d.routing_key = "orders";
  const Bytes expected = cat({
      {0x00, 0x3c, 0x00, 0x3c},  // class 60, method 60 deliver
      {0x0a}, str_bytes("amq.ctag-1"),
      {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},
      {0x00},                    // redelivered
      {0x00},                    // exchange "" (default exchange)
      {0x06}, str_bytes("orders"),
  });
  EXPECT_EQ(method_payload(d), expected);
  auto back = decode_method_payload(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::get<BasicDeliver>(*back) == d);
}

TEST(KnownBytes, ConnectionTuneAndClose) {
  ConnectionTune t;
  t.channel_max = 2047;
  t.frame_max = 131072;
  t.heartbeat = 60;
  EXPECT_EQ(method_payload(t), (Bytes{0, 10, 0, 30, 0x07, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x3c}));
  ConnectionClose c;
  c.reply_code = 501;
  c.reply_text = "FRAME_ERROR";
  c.class_id = 60;
  c.method_id = 40;
  EXPECT_EQ(method_payload(c), cat({{0, 10, 0, 50, 0x01, 0xf5}, shortstr("FRAME_ERROR"), {0, 60, 0, 40}}));
}

// ---------------------------------------------------------------- table

TEST(MethodTable, IdsNamesAndFlags) {
  EXPECT_EQ(uint32_t(MethodId::QueueDeclare), 0x0032000au);
  EXPECT_EQ(make_method_id(60, 40), MethodId::BasicPublish);
  EXPECT_EQ(class_id_of(MethodId::BasicPublish), 60);
  EXPECT_EQ(method_id_of(MethodId::BasicPublish), 40);
  EXPECT_EQ(method_name(40, 51), "exchange.unbind-ok");  // RabbitMQ's id, not 41
  EXPECT_EQ(method_name(40, 41), "unknown");
  EXPECT_EQ(class_name(85), "confirm");
  EXPECT_EQ(class_name(7), "unknown");
  EXPECT_EQ(find_method(50, 99), nullptr);

  const MethodInfo* publish = find_method(MethodId::BasicPublish);
  ASSERT_NE(publish, nullptr);
  EXPECT_TRUE(publish->has_content);
  EXPECT_FALSE(publish->synchronous);
  EXPECT_TRUE(publish->replies().empty());
  for (MethodId id : {MethodId::BasicPublish, MethodId::BasicReturn, MethodId::BasicDeliver, MethodId::BasicGetOk}) {
    EXPECT_TRUE(find_method(id)->has_content) << method_name(id);
  }
  size_t with_content = 0;
  for (const auto& m : kMethods) with_content += m.has_content;
  EXPECT_EQ(with_content, 4u);
}

TEST(MethodTable, SynchronousMethodsAndTheirReplies) {
  auto replies = [](MethodId id) {
    auto r = find_method(id)->replies();
    return std::vector<MethodId>(r.begin(), r.end());
  };
  EXPECT_EQ(replies(MethodId::ChannelOpen), std::vector{MethodId::ChannelOpenOk});
  EXPECT_EQ(replies(MethodId::ConnectionStart), std::vector{MethodId::ConnectionStartOk});
  EXPECT_EQ(replies(MethodId::ExchangeUnbind), std::vector{MethodId::ExchangeUnbindOk});
  EXPECT_EQ(replies(MethodId::BasicGet), (std::vector{MethodId::BasicGetOk, MethodId::BasicGetEmpty}));
  EXPECT_TRUE(find_method(MethodId::TxCommit)->synchronous);
  EXPECT_FALSE(find_method(MethodId::BasicAck)->synchronous);
  for (const auto& m : kMethods) {
    EXPECT_EQ(m.synchronous, !m.replies().empty()) << m.name;
    for (MethodId r : m.replies()) EXPECT_EQ(class_id_of(r), m.class_id()) << m.name;
  }
  // The table is sorted, so find_method's binary search sees every entry.
  for (size_t i = 1; i < std::size(kMethods); ++i) EXPECT_LT(kMethods[i - 1].id, kMethods[i].id);
  for (const auto& m : kMethods) EXPECT_EQ(find_method(m.id), &m);
}

TEST(MethodTable, StructConstantsMatchTheTable) {
  for (const auto& m : test::method_samples()) {
    std::visit(
        [](const auto& x) {
          const MethodInfo* info = find_method(x.kId);
          ASSERT_NE(info, nullptr);
          EXPECT_EQ(info->name, x.kName);
          EXPECT_EQ(info->class_id(), x.kClassId);
          EXPECT_EQ(info->method_id(), x.kMethodId);
          EXPECT_EQ(info->synchronous, x.kSynchronous);
          EXPECT_EQ(info->has_content, x.kHasContent);
        },
        m);
  }
}

}  // namespace
}  // namespace wharf::amqp::msg

namespace wharf::amqp {
namespace {

TEST(Constants, FrameTypesAndReplyCodes) {
  EXPECT_EQ(uint8_t(FrameType::Heartbeat), 8);
  EXPECT_EQ(kFrameEnd, 0xce);
  EXPECT_EQ(kFrameMinSize, 4096u);
  EXPECT_EQ(uint16_t(ReplyCode::FRAME_ERROR), 501);
  EXPECT_EQ(reply_code_name(ReplyCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(reply_code_name(ReplyCode(999)), "UNKNOWN");
  EXPECT_TRUE(is_soft_error(ReplyCode::NOT_FOUND));
  EXPECT_TRUE(is_soft_error(ReplyCode::PRECONDITION_FAILED));
  EXPECT_FALSE(is_hard_error(ReplyCode::ACCESS_REFUSED));
  EXPECT_TRUE(is_hard_error(ReplyCode::UNEXPECTED_FRAME));
  EXPECT_TRUE(is_hard_error(ReplyCode::CONNECTION_FORCED));
  EXPECT_FALSE(is_hard_error(ReplyCode::REPLY_SUCCESS));
  EXPECT_FALSE(is_soft_error(ReplyCode::REPLY_SUCCESS));
  EXPECT_EQ(frame_type_name(3), "body");
  EXPECT_EQ(frame_type_name(4), "unknown");
}

}  // namespace
}  // namespace wharf::amqp
