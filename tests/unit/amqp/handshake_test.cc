// The connection handshake as a client sees it: protocol header, start /
// start-ok with PLAIN and AMQPLAIN, tune / tune-ok negotiation, open, and
// every way a client can be refused.
#include <gtest/gtest.h>

#include "amqp/not_implemented_handler.h"
#include "connection_harness.h"

namespace wharf::amqp {
namespace {

using test::Bytes;
using test::Harness;

bool has_true(const FieldTable& t, std::string_view name) {
  const FieldValue* v = t.find(name);
  return v && v->is<bool>() && *v->get_if<bool>();
}

std::string str(const FieldTable& t, std::string_view name) {
  const FieldValue* v = t.find(name);
  return v && v->is<std::string>() ? *v->get_if<std::string>() : "";
}

TEST(Handshake, StartAdvertisesWharfAndRabbitMqCapabilities) {
  Harness h;
  h.feed(Harness::header());
  auto start = h.expect<msg::ConnectionStart>(0);
  EXPECT_EQ(start.version_major, 0);
  EXPECT_EQ(start.version_minor, 9);
  EXPECT_EQ(start.mechanisms, "PLAIN AMQPLAIN");
  EXPECT_EQ(start.locales, "en_US");
  const FieldTable& p = start.server_properties;
  EXPECT_EQ(str(p, "product"), "Wharf");
  EXPECT_FALSE(str(p, "version").empty());
  EXPECT_FALSE(str(p, "platform").empty());
  EXPECT_EQ(str(p, "cluster_name"), "wharf@test");
  const FieldValue* caps = p.find("capabilities");
  ASSERT_TRUE(caps && caps->is<FieldTable>());
  for (const char* c : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
                        "connection.blocked", "consumer_priorities", "authentication_failure_close",
                        "per_consumer_qos", "direct_reply_to"}) {
    EXPECT_TRUE(has_true(*caps->get_if<FieldTable>(), c)) << c;
  }
}

TEST(Handshake, PlainLoginTunesAndOpens) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  auto tune = h.expect<msg::ConnectionTune>(0);
  EXPECT_EQ(tune.channel_max, 2047);
  EXPECT_EQ(tune.frame_max, 131072u);
  EXPECT_EQ(tune.heartbeat, 60);
  h.send(0, msg::ConnectionTuneOk{2047, 131072, 60});
  EXPECT_TRUE(h.nothing_sent());  // tune-ok has no reply
  msg::ConnectionOpen open;
  open.virtual_host = "/";
  h.send(0, open);
  h.expect<msg::ConnectionOpenOk>(0);
  EXPECT_TRUE(h.conn->is_open());
  EXPECT_EQ(h.conn->info().principal.user, "guest");
  EXPECT_EQ(h.conn->info().vhost, "/");
  EXPECT_EQ(str(h.conn->info().client_properties, "product"), "harness");
  EXPECT_TRUE(h.conn->info().client_has("authentication_failure_close"));
  EXPECT_FALSE(h.wire->closed);
}

TEST(Handshake, PlainWithAuthorizationIdentity) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  auto ok = Harness::start_ok_plain("guest", "guest");
  ok.response = std::string("admin\0guest\0guest", 17);
  h.send(0, ok);
  h.expect<msg::ConnectionTune>(0);
}

TEST(Handshake, AmqplainLogin) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  auto ok = Harness::start_ok_plain("", "");
  ok.mechanism = "AMQPLAIN";
  // The table's entries without its 4-byte size, as py-amqp and the Java
  // client send them.
  FieldTable login;
  login.set("LOGIN", "guest");
  login.set("PASSWORD", "guest");
  Bytes table = test::write_with([&](Writer& w) { w.write_table(login); });
  ok.response.assign(table.begin() + 4, table.end());
  h.send(0, ok);
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{0, 0, 0});
  h.send(0, msg::ConnectionOpen{});
  h.expect<msg::ConnectionOpenOk>(0);
  EXPECT_EQ(h.conn->info().principal.user, "guest");
}

TEST(Handshake, WholeHandshakeFedOneByteAtATime) {
  Harness h;
  Bytes all = test::cat({Harness::header(), Harness::method_frame(0, Harness::start_ok_plain("guest", "guest")),
                         Harness::method_frame(0, msg::ConnectionTuneOk{0, 0, 0}),
                         Harness::method_frame(0, msg::ConnectionOpen{})});
  for (uint8_t b : all) h.feed(Bytes{b});
  h.expect<msg::ConnectionStart>(0);
  h.expect<msg::ConnectionTune>(0);
  h.expect<msg::ConnectionOpenOk>(0);
  EXPECT_EQ(h.unconsumed(), 0u);
}

TEST(Handshake, WrongPasswordIsAccessRefusedThenClosedAfterCloseOk) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "wrong"));
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 403);
  EXPECT_EQ(close.reply_text,
            "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker "
            "logfile.");
  EXPECT_FALSE(h.wire->closed);  // waits for close-ok
  // Anything but close-ok is ignored meanwhile.
  h.send(0, msg::ConnectionTuneOk{0, 0, 0});
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_FALSE(h.wire->closed);
  h.send(0, msg::ConnectionCloseOk{});
  EXPECT_TRUE(h.wire->closed);
}

TEST(Handshake, UnknownUserIsRefusedLikeAWrongPassword) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("mallory", "guest"));
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 403);
}

TEST(Handshake, RefusedClientWithoutFailureCloseCapabilityIsJustDisconnected) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "wrong", /*failure_close_cap=*/false));
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_TRUE(h.wire->closed);
}

TEST(Handshake, GuestFromANonLoopbackAddressIsRefused) {
  Harness::Options o;
  o.loopback = false;
  Harness h(o);
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 403);
}

TEST(Handshake, UnknownMechanismIsCommandInvalid) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  auto ok = Harness::start_ok_plain("guest", "guest");
  ok.mechanism = "EXTERNAL";
  h.send(0, ok);
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 503);
  EXPECT_EQ(close.class_id, 10);
  EXPECT_EQ(close.method_id, 11);
}

TEST(Handshake, MalformedPlainResponseIsSyntaxError) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  auto ok = Harness::start_ok_plain("guest", "guest");
  ok.response = "guest";
  h.send(0, ok);
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 502);
}

TEST(Handshake, UnknownVhostIsNotAllowed) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{0, 0, 0});
  msg::ConnectionOpen open;
  open.virtual_host = "/nope";
  h.send(0, open);
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 530);
  EXPECT_EQ(close.reply_text, "NOT_ALLOWED - vhost '/nope' not found");
  EXPECT_EQ(close.class_id, 10);
  EXPECT_EQ(close.method_id, 40);
  EXPECT_FALSE(h.conn->is_open());
}

TEST(Handshake, WrongProtocolHeaderIsAnsweredWithOursAndClosed) {
  for (std::string bad : {std::string("AMQP\0\0\x09\x00", 8), std::string("AMQP\x01\x01\x00\x0a", 8),
                          std::string("GET / HTTP/1.1\r\n")}) {
    Harness h;
    h.feed(test::str_bytes(bad));
    EXPECT_EQ(h.raw_out(), Harness::header()) << bad;
    EXPECT_TRUE(h.wire->closed);
    EXPECT_TRUE(h.wire->flushed_close);  // our header gets out first
  }
}

TEST(Handshake, PartialHeaderWaits) {
  Harness h;
  h.feed(test::str_bytes("AMQ"));
  EXPECT_TRUE(h.raw_out().empty());
  EXPECT_FALSE(h.wire->closed);
  h.feed(Bytes{'P', 0, 0, 9, 1});
  h.expect<msg::ConnectionStart>(0);
}

TEST(Handshake, MethodOutOfSequenceIsChannelError) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, msg::ConnectionTuneOk{0, 0, 0});  // before start-ok
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 504);
  EXPECT_EQ(close.reply_text, "CHANNEL_ERROR - unexpected method connection.tune-ok in connection state starting");
  EXPECT_EQ(close.class_id, 10);
  EXPECT_EQ(close.method_id, 31);
}

TEST(Handshake, ChannelFrameBeforeOpenIsUnexpectedFrame) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(1, msg::ChannelOpen{});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 505);
}

TEST(Handshake, ClientMayCloseDuringTheHandshake) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, msg::ConnectionClose{200, "bye", 0, 0});
  h.expect<msg::ConnectionCloseOk>(0);
  EXPECT_TRUE(h.wire->closed);
}

TEST(Handshake, UnfinishedHandshakeTimesOut) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.advance(std::chrono::milliseconds(9900));
  EXPECT_FALSE(h.wire->closed);
  h.advance(std::chrono::milliseconds(200));
  EXPECT_TRUE(h.wire->closed);
}

TEST(Handshake, FinishedHandshakeDoesNotTimeOut) {
  Harness h;
  h.handshake(0, 0, /*heartbeat=*/0);
  h.advance(std::chrono::minutes(10));
  EXPECT_FALSE(h.wire->closed);
}

// ---- tune-ok negotiation ------------------------------------------------------

TEST(Negotiation, ZeroMeansTheServersLimits) {
  Harness h;
  h.handshake(0, 0, 0);
  EXPECT_EQ(h.conn->info().channel_max, 2047);
  EXPECT_EQ(h.conn->info().frame_max, 131072u);
  EXPECT_EQ(h.conn->info().heartbeat_s, 0);  // the client's 0 disables heartbeats
}

TEST(Negotiation, LowerClientValuesWin) {
  Harness h;
  h.handshake(10, 8192, 5);
  EXPECT_EQ(h.conn->info().channel_max, 10);
  EXPECT_EQ(h.conn->info().frame_max, 8192u);
  EXPECT_EQ(h.conn->info().heartbeat_s, 5);
}

TEST(Negotiation, FrameMaxBelowMinimumIsNotAllowed) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{0, 2048, 0});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 530);
  EXPECT_EQ(close.reply_text,
            "NOT_ALLOWED - negotiated frame_max = 2048 is lower than the minimum allowed value (4096)");
}

TEST(Negotiation, ValuesAboveOursAreNotAllowed) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{4000, 0, 0});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 530);
}

TEST(Negotiation, NegotiatedFrameMaxIsEnforced) {
  Harness h;
  h.handshake(0, 4096, 0);
  h.open_channel(1);
  // A 5000-byte body split for a larger frame_max: one frame of 5008 bytes.
  h.feed(test::cat({Harness::method_frame(1, test::make_publish()), Harness::header_frame(1, 5000),
                    Harness::body_frames(1, std::string(5000, 'x'), 8192)}));
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 501);
}

TEST(Negotiation, ServerOffersConfiguredValues) {
  Harness::Options o;
  o.config.channel_max = 64;
  o.config.frame_max = 65536;
  o.config.heartbeat_s = 30;
  Harness h(o);
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  auto tune = h.expect<msg::ConnectionTune>(0);
  EXPECT_EQ(tune.channel_max, 64);
  EXPECT_EQ(tune.frame_max, 65536u);
  EXPECT_EQ(tune.heartbeat, 30);
}

TEST(UpdateSecret, IsAcknowledged) {
  Harness h;
  h.handshake();
  h.send(0, msg::ConnectionUpdateSecret{"token", "refresh"});
  h.expect<msg::ConnectionUpdateSecretOk>(0);
  EXPECT_TRUE(h.conn->is_open());
}

}  // namespace
}  // namespace wharf::amqp
