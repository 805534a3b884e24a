// Bad input on an established connection: each error gets the reply code a
// RabbitMQ client expects, and closes only what it must.
#include <gtest/gtest.h>

#include "amqp/not_implemented_handler.h"
#include "connection_harness.h"

namespace wharf::amqp {
namespace {

using test::Bytes;
using test::Harness;

TEST(ConnectionErrors, BadFrameEndIsFrameErrorAndNothingMoreIsParsed) {
  Harness h;
  h.handshake(0, 0, 0);
  Bytes f = Harness::method_frame(0, msg::ConnectionUpdateSecret{"s", "r"});
  f.back() = 0x00;  // frame-end must be 0xCE
  h.feed(f);
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 501);
  EXPECT_EQ(close.reply_text.substr(0, 14), "FRAME_ERROR - ");
  // The stream is out of sync: even a well-formed close-ok is not looked at,
  // but input is still consumed so the client can read our close.
  h.send(0, msg::ConnectionCloseOk{});
  EXPECT_EQ(h.unconsumed(), 0u);
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_FALSE(h.wire->closed);
  h.advance(Connection::kLostSyncGrace);
  EXPECT_TRUE(h.wire->closed);
}

TEST(ConnectionErrors, UnknownFrameTypeIsFrameError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.feed(Bytes{7, 0, 0, 0, 0, 0, 0, 0xce});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 501);
}

TEST(ConnectionErrors, MalformedArgumentsAreSyntaxError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  // channel.close with its arguments cut short.
  Bytes payload = {0, 20, 0, 40, 0};
  Bytes frame = test::cat({Bytes{1, 0, 1}, test::be32(uint32_t(payload.size())), payload, Bytes{0xce}});
  h.feed(frame);
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 502);
}

TEST(ConnectionErrors, UnknownMethodIsNotImplemented) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  Bytes payload = {0, 60, 0, 99};  // basic, method 99
  h.feed(test::cat({Bytes{1, 0, 1}, test::be32(4), payload, Bytes{0xce}}));
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 540);
  EXPECT_EQ(close.class_id, 60);
  EXPECT_EQ(close.method_id, 99);
}

TEST(ConnectionErrors, FrameForAnUnopenedChannelIsChannelError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.send(3, msg::QueueDeclare{});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 504);
  EXPECT_EQ(close.reply_text, "CHANNEL_ERROR - expected 'channel.open' on channel 3, got queue.declare");
  EXPECT_EQ(close.class_id, 50);
  EXPECT_EQ(close.method_id, 10);
}

TEST(ConnectionErrors, ContentForAnUnopenedChannelIsChannelError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.feed(Harness::header_frame(2, 0));
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 504);
}

TEST(ConnectionErrors, ContentHeaderWithoutMethodIsUnexpectedFrame) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.feed(Harness::header_frame(1, 10));
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 505);
  EXPECT_EQ(h.recorder->events, (std::vector<std::string>{"open 1", "close 1", "connection closed"}));
}

TEST(ConnectionErrors, BodyBeforeHeaderIsUnexpectedFrame) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.feed(test::cat({Harness::method_frame(1, test::make_publish()), Harness::body_frames(1, "abc", 131072)}));
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 505);
}

TEST(ConnectionErrors, ContentOnChannelZeroIsUnexpectedFrame) {
  Harness h;
  h.handshake(0, 0, 0);
  h.feed(Harness::header_frame(0, 10));
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 505);
}

TEST(ConnectionErrors, ChannelMethodOnChannelZeroIsChannelError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.send(0, msg::ChannelOpen{});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 504);
}

TEST(ConnectionErrors, ChannelAboveChannelMaxIsNotAllowed) {
  Harness h;
  h.handshake(/*channel_max=*/10, 0, 0);
  h.open_channel(10);
  h.send(11, msg::ChannelOpen{});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 530);
  EXPECT_EQ(close.reply_text, "NOT_ALLOWED - channel 11 is above the negotiated channel_max (10)");
}

TEST(ConnectionErrors, HeartbeatOnAChannelIsFrameError) {
  Harness h;
  h.handshake(0, 0, 0);
  h.feed(Bytes{8, 0, 1, 0, 0, 0, 0, 0xce});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 501);
}

TEST(ConnectionErrors, OurCloseWaitsForCloseOkThenTimesOut) {
  Harness h;
  h.handshake(0, 0, 0);
  h.send(5, msg::QueueDeclare{});
  h.expect<msg::ConnectionClose>(0);
  h.advance(Connection::kCloseTimeout - std::chrono::seconds(1));
  EXPECT_FALSE(h.wire->closed);
  h.advance(std::chrono::seconds(2));
  EXPECT_TRUE(h.wire->closed);
  EXPECT_FALSE(h.wire->flushed_close);
}

TEST(ConnectionErrors, CrossingCloseIsAnsweredWhileWaitingForCloseOk) {
  Harness h;
  h.handshake(0, 0, 0);
  h.send(5, msg::QueueDeclare{});
  h.expect<msg::ConnectionClose>(0);
  h.send(0, msg::ConnectionClose{200, "bye", 0, 0});
  h.expect<msg::ConnectionCloseOk>(0);
  EXPECT_FALSE(h.wire->closed);
  h.send(0, msg::ConnectionCloseOk{});
  EXPECT_TRUE(h.wire->closed);
}

TEST(ConnectionErrors, UnimplementedMethodClosesTheConnectionWith540LikeRabbitMq) {
  Harness::Options o;
  o.factory = not_implemented_handler_factory();
  Harness h(o);
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.open_channel(2);
  msg::QueueDeclare qd;
  qd.queue = "q";
  h.send(1, qd);
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 540);
  EXPECT_EQ(close.reply_text, "NOT_IMPLEMENTED - queue.declare is not implemented yet");
  EXPECT_EQ(close.class_id, 50);
  EXPECT_EQ(close.method_id, 10);
  // Nothing else happens on channel 2 any more.
  h.send(2, msg::ChannelFlow{true});
  EXPECT_TRUE(h.nothing_sent());
}

TEST(ConnectionErrors, PublishIsNotImplementedYetEither) {
  Harness::Options o;
  o.factory = not_implemented_handler_factory();
  Harness h(o);
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.publish(1, "hello");
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 540);
  EXPECT_EQ(close.class_id, 60);
  EXPECT_EQ(close.method_id, 40);
}

TEST(ConnectionErrors, ClientCloseAnswersCloseOkAndClosesEveryChannel) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.open_channel(2);
  h.send(0, msg::ConnectionClose{200, "Normal shutdown", 0, 0});
  h.expect<msg::ConnectionCloseOk>(0);
  EXPECT_TRUE(h.wire->closed);
  EXPECT_TRUE(h.wire->flushed_close);
  auto& ev = h.recorder->events;
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev.back(), "connection closed");  // after both channels
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "close 1"), 1);
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "close 2"), 1);
}

TEST(ConnectionErrors, PeerDisconnectRunsTheCloseHooksOnce) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.conn->on_close();
  h.conn->on_close();
  EXPECT_EQ(h.recorder->events, (std::vector<std::string>{"open 1", "close 1", "connection closed"}));
}

TEST(ConnectionErrors, HandlerCanForceCloseTheConnection) {
  Harness h;
  h.handshake(0, 0, 0);
  h.open_channel(1);
  h.conn->close(ReplyCode::CONNECTION_FORCED, "broker shutdown", msg::MethodId{});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 320);
  EXPECT_EQ(close.reply_text, "CONNECTION_FORCED - broker shutdown");
  EXPECT_EQ(close.class_id, 0);
}

}  // namespace
}  // namespace wharf::amqp
