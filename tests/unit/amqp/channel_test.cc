// Channels: open and close from either side, soft errors that close only the
// channel, flow, and what the ChannelHandler sees and can send.
#include <gtest/gtest.h>

#include "connection_harness.h"

namespace wharf::amqp {
namespace {

using test::Bytes;
using test::Harness;

using Events = std::vector<std::string>;

TEST(Channel, OpenAndClientClose) {
  Harness h;
  h.handshake();
  h.send(1, msg::ChannelOpen{});
  h.expect<msg::ChannelOpenOk>(1);
  EXPECT_EQ(h.conn->open_channel_count(), 1u);
  h.send(1, msg::ChannelClose{200, "Normal shutdown", 0, 0});
  h.expect<msg::ChannelCloseOk>(1);
  EXPECT_EQ(h.conn->open_channel_count(), 0u);
  EXPECT_EQ(h.recorder->events, (Events{"open 1", "close 1"}));
  // The id is free again.
  h.open_channel(1);
  EXPECT_TRUE(h.conn->is_open());
}

TEST(Channel, SecondOpenOnAnOpenChannelIsChannelError) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::ChannelOpen{});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 504);
  EXPECT_EQ(close.class_id, 20);
  EXPECT_EQ(close.method_id, 10);
}

TEST(Channel, ManyChannelsAreIndependent) {
  Harness h;
  h.handshake();
  for (uint16_t c : {1, 2, 3, 2047}) h.open_channel(c);
  h.send(2, msg::ChannelClose{200, "", 0, 0});
  h.expect<msg::ChannelCloseOk>(2);
  EXPECT_EQ(h.conn->open_channel_count(), 3u);
  EXPECT_NE(h.conn->channel(1), nullptr);
  EXPECT_EQ(h.conn->channel(2), nullptr);
}

TEST(Channel, CommandsReachTheHandlerInOrder) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.open_channel(2);
  msg::QueueDeclare qd;
  qd.queue = "q";
  h.feed(test::cat({Harness::method_frame(1, qd), Harness::method_frame(2, msg::ConfirmSelect{}),
                    Harness::method_frame(1, msg::BasicQos{0, 10, false})}));
  EXPECT_EQ(h.recorder->events,
            (Events{"open 1", "open 2", "command 1 queue.declare", "command 2 confirm.select", "command 1 basic.qos"}));
}

TEST(Channel, PublishedContentArrivesWhole) {
  Harness h;
  std::string got;
  h.recorder->on_command = [&](ChannelContext&, Command& c) {
    ASSERT_TRUE(c.header.has_value());
    got.assign(c.body.begin(), c.body.end());
  };
  h.handshake(0, 4096, 0);
  h.open_channel(1);
  std::string body(10000, 'b');
  body[0] = 'a';
  body.back() = 'z';
  h.publish(1, body, 4096);  // three body frames
  EXPECT_EQ(got, body);
}

TEST(Channel, AccessRequestGetsATicket) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::AccessRequest{});
  EXPECT_EQ(h.expect<msg::AccessRequestOk>(1).ticket, 1);
}

TEST(Channel, FlowIsAcknowledgedAndRemembered) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::ChannelFlow{false});
  EXPECT_FALSE(h.expect<msg::ChannelFlowOk>(1).active);
  EXPECT_FALSE(h.conn->channel(1)->flow_active());
  h.send(1, msg::ChannelFlow{true});
  EXPECT_TRUE(h.expect<msg::ChannelFlowOk>(1).active);
  EXPECT_TRUE(h.conn->channel(1)->flow_active());
  EXPECT_EQ(h.recorder->events, (Events{"open 1", "flow 1 off", "flow 1 on"}));
}

TEST(Channel, ReplyOnlyMethodsFromTheClientAreCommandInvalid) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::ChannelOpenOk{});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 503);
}

TEST(Channel, SoftErrorClosesOnlyTheChannel) {
  Harness h;
  h.recorder->on_command = [](ChannelContext& ch, Command& c) {
    if (std::holds_alternative<msg::QueueDeclare>(c.method)) {
      ch.fail(ReplyCode::NOT_FOUND, "no queue 'q' in vhost '/'", msg::MethodId::QueueDeclare);
    }
  };
  h.handshake();
  h.open_channel(1);
  h.open_channel(2);
  msg::QueueDeclare qd;
  qd.passive = true;
  qd.queue = "q";
  h.send(1, qd);
  auto close = h.expect<msg::ChannelClose>(1);
  EXPECT_EQ(close.reply_code, 404);
  EXPECT_EQ(close.reply_text, "NOT_FOUND - no queue 'q' in vhost '/'");
  EXPECT_EQ(close.class_id, 50);
  EXPECT_EQ(close.method_id, 10);
  EXPECT_EQ(h.recorder->events, (Events{"open 1", "open 2", "command 1 queue.declare", "close 1"}));

  // Until close-ok, channel 1 drops everything: methods and content.
  h.send(1, msg::QueueDeclare{});
  h.publish(1, "dropped");
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_EQ(h.recorder->events.size(), 4u);
  // Channel 2 is unaffected.
  h.send(2, msg::ConfirmSelect{});
  EXPECT_EQ(h.recorder->events.back(), "command 2 confirm.select");

  h.send(1, msg::ChannelCloseOk{});
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_EQ(h.conn->channel(1), nullptr);
  h.open_channel(1);  // reusable
  EXPECT_TRUE(h.conn->is_open());
}

TEST(Channel, CrossingChannelCloseIsAnsweredWhileClosing) {
  Harness h;
  h.recorder->on_command = [](ChannelContext& ch, Command&) {
    ch.fail(ReplyCode::PRECONDITION_FAILED, "inequivalent arg 'durable'", msg::MethodId::QueueDeclare);
  };
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::QueueDeclare{});
  h.expect<msg::ChannelClose>(1);
  h.send(1, msg::ChannelClose{200, "", 0, 0});
  h.expect<msg::ChannelCloseOk>(1);
  EXPECT_NE(h.conn->channel(1), nullptr);  // still waiting for its close-ok
  h.send(1, msg::ChannelCloseOk{});
  EXPECT_EQ(h.conn->channel(1), nullptr);
}

TEST(Channel, HardErrorFromTheHandlerClosesTheConnection) {
  Harness h;
  h.recorder->on_command = [](ChannelContext& ch, Command&) {
    ch.fail(ReplyCode::COMMAND_INVALID, "unknown delivery tag 7", msg::MethodId::BasicAck);
  };
  h.handshake();
  h.open_channel(1);
  h.send(1, msg::BasicAck{7, false});
  auto close = h.expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 503);
  EXPECT_EQ(close.class_id, 60);
  EXPECT_EQ(close.method_id, 80);
}

TEST(Channel, CloseHookThatFailsAgainDoesNotSendASecondClose) {
  Harness::Options o;
  struct Stubborn : ChannelHandler {
    void on_command(ChannelContext& ch, Command&&) override {
      ch.fail(ReplyCode::NOT_IMPLEMENTED, "no", msg::MethodId::QueueDeclare);
    }
    void on_channel_close(ChannelContext& ch) override {
      ch.fail(ReplyCode::INTERNAL_ERROR, "again", msg::MethodId{});
      ch.connection().close(ReplyCode::INTERNAL_ERROR, "and again", msg::MethodId{});
    }
  };
  o.factory = [](ConnectionContext&) { return std::make_unique<Stubborn>(); };
  Harness h(o);
  h.handshake();
  h.open_channel(1);
  h.open_channel(2);
  h.send(1, msg::QueueDeclare{});
  EXPECT_EQ(h.expect<msg::ConnectionClose>(0).reply_code, 540);
  EXPECT_TRUE(h.nothing_sent());
}

TEST(Channel, BodyOverMaxMessageSizeClosesTheChannelWithPreconditionFailed) {
  Harness::Options o;
  o.config.max_message_bytes = 100;
  Harness h(o);
  h.handshake();
  h.open_channel(1);
  h.publish(1, std::string(101, 'x'));
  auto close = h.expect<msg::ChannelClose>(1);
  EXPECT_EQ(close.reply_code, 406);
  EXPECT_EQ(close.class_id, 60);
  EXPECT_EQ(close.method_id, 40);
  EXPECT_TRUE(h.conn->is_open());
  EXPECT_EQ(h.recorder->events, (Events{"open 1", "close 1"}));
}

TEST(Channel, HandlerRepliesAndSendsContentSplitAtFrameMax) {
  Harness h;
  h.recorder->on_command = [](ChannelContext& ch, Command& c) {
    if (std::holds_alternative<msg::BasicQos>(c.method)) return ch.send(msg::BasicQosOk{});
    msg::BasicDeliver d;
    d.consumer_tag = "ctag";
    d.delivery_tag = 1;
    d.routing_key = "rk";
    msg::BasicProperties props;
    props.content_type = "text/plain";
    std::string body(10000, 'm');
    ch.send_content(d, props, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  };
  h.handshake(0, 4096, 0);
  h.open_channel(1);
  h.send(1, msg::BasicQos{0, 1, false});
  h.expect<msg::BasicQosOk>(1);
  h.send(1, msg::BasicConsume{});
  auto deliver = h.expect<msg::BasicDeliver>(1);
  EXPECT_EQ(deliver.consumer_tag, "ctag");
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 4u);  // header + 3 bodies
  EXPECT_EQ(fs[0].type, FrameType::Header);
  auto header = decode_content_header(fs[0].payload);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->body_size, 10000u);
  EXPECT_EQ(header->properties.content_type, "text/plain");
  size_t total = 0;
  for (size_t i = 1; i < fs.size(); ++i) {
    EXPECT_EQ(fs[i].type, FrameType::Body);
    EXPECT_EQ(fs[i].channel, 1);
    EXPECT_LE(fs[i].payload.size() + 8, 4096u);
    total += fs[i].payload.size();
  }
  EXPECT_EQ(total, 10000u);
}

TEST(Channel, SendsAfterCloseAreDroppedAndStaleHandlesExpire) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  std::weak_ptr<ChannelContext> weak = h.recorder->opened.at(0);
  ASSERT_FALSE(weak.expired());
  h.send(1, msg::ChannelClose{200, "", 0, 0});
  h.expect<msg::ChannelCloseOk>(1);
  EXPECT_TRUE(weak.expired());
  // A new channel with the same id is a different object.
  h.open_channel(1);
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(h.recorder->opened.at(1).expired());
}

TEST(Channel, HandleHeldAcrossCloseSendsNothing) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  std::shared_ptr<ChannelContext> held = h.recorder->opened.at(0).lock();
  h.send(1, msg::ChannelClose{200, "", 0, 0});
  h.expect<msg::ChannelCloseOk>(1);
  EXPECT_FALSE(held->is_open());
  held->send(msg::BasicQosOk{});
  EXPECT_TRUE(h.nothing_sent());
}

// ---- flow control (connection.blocked) and output backpressure -------------------

TEST(FlowControl, BlockedClientStopsBeingReadAndIsToldAfterItsNextPublish) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.conn->block("low on memory");
  EXPECT_TRUE(h.conn->blocked());
  EXPECT_TRUE(h.nothing_sent());  // as RabbitMQ: nothing until it publishes
  h.send(1, msg::BasicQos{0, 1, false});  // not a publish: still read
  EXPECT_FALSE(h.wire->paused);
  h.feed(test::cat({Harness::method_frame(1, test::make_publish()), Harness::header_frame(1, 0),
                    Harness::method_frame(1, msg::ConfirmSelect{})}));
  EXPECT_TRUE(h.wire->paused);
  EXPECT_EQ(h.expect<msg::ConnectionBlocked>(0).reason, "low on memory");
  EXPECT_EQ(h.recorder->events.back(), "command 1 basic.publish");  // the publish itself is handled
  EXPECT_GT(h.unconsumed(), 0u);  // confirm.select waits
  h.conn->block("low on disk");   // already blocked: nothing new
  EXPECT_TRUE(h.nothing_sent());
  h.conn->unblock();
  h.expect<msg::ConnectionUnblocked>(0);
  EXPECT_FALSE(h.wire->paused);
  h.pump();
  EXPECT_EQ(h.recorder->events.back(), "command 1 confirm.select");
}

TEST(FlowControl, ClientThatNeverPublishesIsNeitherHeldNorTold) {
  Harness h;
  h.handshake();
  h.open_channel(1);
  h.conn->block("low on memory");
  h.send(1, msg::BasicQos{0, 1, false});
  EXPECT_FALSE(h.wire->paused);
  h.conn->unblock();
  EXPECT_FALSE(h.conn->blocked());
  EXPECT_EQ(h.recorder->events.back(), "command 1 basic.qos");
  h.frames();  // qos went to the recording handler, which answers nothing
  EXPECT_TRUE(h.nothing_sent());  // no blocked, no unblocked
}

TEST(FlowControl, BlockedDuringTheHandshakeHoldsTheFirstPublish) {
  Harness h;
  h.conn->block("low on disk");  // a connection accepted during an alarm
  h.handshake();
  h.open_channel(1);
  h.publish(1, "x");
  EXPECT_TRUE(h.wire->paused);
  EXPECT_EQ(h.expect<msg::ConnectionBlocked>(0).reason, "low on disk");
}

TEST(FlowControl, BlockedWithoutCapabilityIsHeldButSentNothing) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  auto ok = Harness::start_ok_plain("guest", "guest");
  ok.client_properties = FieldTable{};
  h.send(0, ok);
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{0, 0, 0});
  h.send(0, msg::ConnectionOpen{});
  h.expect<msg::ConnectionOpenOk>(0);
  h.open_channel(1);
  h.conn->block("disk");
  h.publish(1, "x");
  EXPECT_TRUE(h.wire->paused);
  EXPECT_TRUE(h.nothing_sent());
  EXPECT_TRUE(h.conn->blocked());
  h.conn->unblock();
  EXPECT_FALSE(h.wire->paused);
  EXPECT_TRUE(h.nothing_sent());
}

TEST(FlowControl, CongestionIsReportedAndDrainWakesTheHandler) {
  Harness h;
  h.handshake();
  EXPECT_FALSE(h.conn->output_congested());
  h.wire->queued = kOutputHighWater + 1;
  EXPECT_TRUE(h.conn->output_congested());
  h.wire->queued = 0;
  h.conn->on_output_drained();
  EXPECT_EQ(h.recorder->writable, 1);
}

}  // namespace
}  // namespace wharf::amqp
