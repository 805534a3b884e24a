// Heartbeats: sent when we are otherwise silent, expected from the client,
// and the connection is dropped after two silent intervals.
#include <gtest/gtest.h>

#include "connection_harness.h"

namespace wharf::amqp {
namespace {

using namespace std::chrono_literals;
using test::Harness;

size_t heartbeats(const std::vector<test::OutFrame>& fs) {
  return size_t(std::count_if(fs.begin(), fs.end(), [](const auto& f) {
    return f.type == FrameType::Heartbeat && f.channel == 0 && f.payload.empty();
  }));
}

TEST(Heartbeat, SentAtHalfTheIntervalWhenIdle) {
  Harness h;
  h.handshake(0, 0, /*heartbeat=*/10);
  h.frames();
  // The first half interval carried open-ok: no heartbeat needed.
  h.advance(5100ms);
  EXPECT_EQ(heartbeats(h.frames()), 0u);
  // Each silent half interval after it gets one.
  h.advance(4800ms);
  EXPECT_EQ(heartbeats(h.frames()), 0u);
  h.advance(200ms);
  EXPECT_EQ(heartbeats(h.frames()), 1u);
  h.advance(5000ms);
  EXPECT_EQ(heartbeats(h.frames()), 1u);
}

TEST(Heartbeat, NotSentWhileOtherFramesFlow) {
  Harness h;
  h.handshake(0, 0, 10);
  h.open_channel(1);
  for (int i = 0; i < 6; ++i) {
    h.send(1, msg::AccessRequest{});  // answered: something was sent
    h.expect<msg::AccessRequestOk>(1);
    h.advance(5s);
    EXPECT_EQ(heartbeats(h.frames()), 0u) << i;
  }
}

TEST(Heartbeat, ClientHeartbeatsKeepAnIdleConnectionOpen) {
  Harness h;
  h.handshake(0, 0, 2);
  for (int i = 0; i < 20; ++i) {
    h.feed(Harness::heartbeat_frame());
    h.advance(1s);
  }
  EXPECT_FALSE(h.wire->closed);
  EXPECT_GE(heartbeats(h.frames()), 15u);
}

TEST(Heartbeat, SilentClientIsDroppedAfterTwoIntervals) {
  Harness h;
  h.handshake(0, 0, 2);
  h.advance(3500ms);
  EXPECT_FALSE(h.wire->closed);
  h.advance(1600ms);  // > 2 x 2 s without a byte
  EXPECT_TRUE(h.wire->closed);
  EXPECT_FALSE(h.wire->flushed_close);  // the peer is presumed dead: no close handshake
  EXPECT_EQ(h.recorder->events.back(), "connection closed");
}

TEST(Heartbeat, ZeroDisablesHeartbeats) {
  Harness h;
  h.handshake(0, 0, 0);
  h.frames();
  h.advance(std::chrono::hours(1));
  EXPECT_EQ(heartbeats(h.frames()), 0u);
  EXPECT_FALSE(h.wire->closed);
}

TEST(Heartbeat, AcceptedRightAfterTuneOk) {
  Harness h;
  h.feed(Harness::header());
  h.expect<msg::ConnectionStart>(0);
  h.send(0, Harness::start_ok_plain("guest", "guest"));
  h.expect<msg::ConnectionTune>(0);
  h.send(0, msg::ConnectionTuneOk{0, 0, 1});
  h.feed(Harness::heartbeat_frame());
  EXPECT_TRUE(h.nothing_sent());
  h.send(0, msg::ConnectionOpen{});
  h.expect<msg::ConnectionOpenOk>(0);
}

TEST(Heartbeat, SilenceIsForgivenWhileWeStoppedReading) {
  Harness h;
  h.handshake(0, 0, 1);
  h.open_channel(1);
  h.conn->block("memory");
  h.publish(1, "x");
  ASSERT_TRUE(h.wire->paused);
  h.advance(10s);  // the client's heartbeats sit unread in the socket
  EXPECT_FALSE(h.wire->closed);
  h.conn->unblock();
  h.advance(3s);
  EXPECT_TRUE(h.wire->closed);  // now silence counts again
}

}  // namespace
}  // namespace wharf::amqp
