// ConfirmTracker: what a publisher in confirm mode sees (basic.ack /
// basic.nack frames), driven without a broker.
#include "amqp/handler/confirms.h"

#include <gtest/gtest.h>

#include <asio.hpp>

#include "amqp/protocol/frame_parser.h"

namespace wharf::amqp {
namespace {

// A channel that records the methods it is asked to send.
class RecordingChannel : public ChannelContext, public std::enable_shared_from_this<RecordingChannel> {
 public:
  uint16_t id() const override { return 1; }
  bool is_open() const override { return open; }
  bool flow_active() const override { return true; }
  ConnectionContext& connection() override { std::abort(); }
  std::weak_ptr<ChannelContext> weak() override { return shared_from_this(); }
  void fail(ReplyCode, std::string_view, msg::MethodId) override { ADD_FAILURE() << "no errors expected"; }

  std::vector<msg::AnyMethod> sent;
  bool open = true;

 protected:
  uint32_t frame_max() const override { return 131072; }
  void send_frames(OutBuffer&& frames) override {
    std::vector<uint8_t> bytes;
    for (auto& c : frames.chunks()) bytes.insert(bytes.end(), c.mem.begin(), c.mem.end());
    FrameParser parser(131072);
    std::span<uint8_t> rest(bytes);
    while (!rest.empty()) {
      auto p = parser.parse(rest);
      ASSERT_EQ(p.status, FrameParse::kFrame);
      auto m = msg::decode_method_payload(p.frame.payload);
      ASSERT_TRUE(m.ok());
      sent.push_back(*m);
      rest = rest.subspan(p.size);
    }
  }
  void encode_failed(const Error&, std::string_view) override { FAIL(); }
};

struct Reply {
  bool ack;
  uint64_t tag;
  bool multiple;
  bool operator==(const Reply&) const = default;
};

std::vector<Reply> replies(const RecordingChannel& ch) {
  std::vector<Reply> out;
  for (const auto& m : ch.sent) {
    if (auto* a = std::get_if<msg::BasicAck>(&m)) out.push_back({true, a->delivery_tag, a->multiple});
    if (auto* n = std::get_if<msg::BasicNack>(&m)) out.push_back({false, n->delivery_tag, n->multiple});
  }
  return out;
}

class ConfirmsTest : public ::testing::Test {
 protected:
  void run() {
    io.restart();
    io.run();
  }
  asio::io_context io;
  std::shared_ptr<RecordingChannel> ch = std::make_shared<RecordingChannel>();
  std::shared_ptr<ConfirmTracker> t = std::make_shared<ConfirmTracker>(ch->weak(), io);
};

TEST_F(ConfirmsTest, InOrderOutcomesOfOneTurnBecomeOneMultipleAck) {
  for (int i = 0; i < 5; ++i) t->add(1);
  for (uint64_t s = 1; s <= 5; ++s) t->outcome(s, true);
  run();
  EXPECT_EQ(replies(*ch), (std::vector<Reply>{{true, 5, true}}));
  EXPECT_EQ(t->outstanding(), 0u);
}

TEST_F(ConfirmsTest, UnroutableIsAckedAtOnceAndTagsKeepCounting) {
  EXPECT_EQ(t->add(0), 1u);
  run();
  EXPECT_EQ(t->add(2), 2u);
  t->outcome(2, true);
  run();
  EXPECT_TRUE(replies(*ch) == (std::vector<Reply>{{true, 1, false}}));  // 2 still waits for its second queue
  t->outcome(2, true);
  run();
  EXPECT_EQ(replies(*ch), (std::vector<Reply>{{true, 1, false}, {true, 2, false}}));
}

TEST_F(ConfirmsTest, OneRefusingQueueNacksThePublish) {
  t->add(2);
  t->outcome(1, true);
  t->outcome(1, false);
  run();
  EXPECT_EQ(replies(*ch), (std::vector<Reply>{{false, 1, false}}));
}

TEST_F(ConfirmsTest, LaterPublishesFinishingFirstWaitForEarlierOnes) {
  for (int i = 0; i < 4; ++i) t->add(1);
  t->outcome(3, true);
  t->outcome(4, false);
  run();
  // 1 and 2 still wait: confirms go out in publish order.
  EXPECT_TRUE(replies(*ch).empty());
  t->outcome(2, true);
  t->outcome(1, true);
  run();
  EXPECT_EQ(replies(*ch), (std::vector<Reply>{{true, 3, true}, {false, 4, false}}));
  EXPECT_EQ(t->outstanding(), 0u);
}

TEST_F(ConfirmsTest, NothingIsSentOnAClosedChannel) {
  t->add(1);
  ch->open = false;
  t->outcome(1, true);
  run();
  EXPECT_TRUE(ch->sent.empty());
}

}  // namespace
}  // namespace wharf::amqp
