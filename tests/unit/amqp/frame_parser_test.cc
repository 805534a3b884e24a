// FrameParser and the protocol header check: incremental parsing at every
// split point, and each framing error with its reply code.
#include <gtest/gtest.h>

#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/protocol_header.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::be32;
using test::Bytes;
using test::cat;

Bytes frame(uint8_t type, uint16_t channel, Bytes payload, uint8_t end = 0xce) {
  return cat({{type, uint8_t(channel >> 8), uint8_t(channel)}, be32(uint32_t(payload.size())), payload, {end}});
}

TEST(FrameParser, ParsesOneFrame) {
  Bytes b = frame(1, 0x0102, {0, 20, 0, 10, 0});
  FrameParser p;
  FrameParse r = p.parse(b);
  ASSERT_EQ(r.status, FrameParse::kFrame);
  EXPECT_EQ(r.size, b.size());
  EXPECT_EQ(r.frame.type, FrameType::Method);
  EXPECT_EQ(r.frame.channel, 0x0102);
  ASSERT_EQ(r.frame.payload.size(), 5u);
  EXPECT_EQ(r.frame.payload.data(), b.data() + 7);  // a view, not a copy
}

TEST(FrameParser, EverySplitPointNeedsMoreThenParses) {
  Bytes stream = cat({frame(1, 1, {0, 60, 0, 40, 0, 0, 0, 0, 0}), frame(2, 1, Bytes(14, 0)), frame(3, 1, {'h', 'i'}),
                      frame(8, 0, {}), frame(3, 1, {})});
  FrameParser p;
  // Feed the stream as a Session would see it: the unconsumed input grows
  // one byte at a time.
  size_t used = 0;
  std::vector<FrameType> types;
  for (size_t avail = 0; avail <= stream.size(); ++avail) {
    for (;;) {
      FrameParse r = p.parse(std::span<uint8_t>(stream.data() + used, avail - used));
      ASSERT_NE(r.status, FrameParse::kError);
      if (r.status == FrameParse::kNeedMore) {
        EXPECT_GT(r.size, avail - used);
        break;
      }
      types.push_back(r.frame.type);
      used += r.size;
    }
  }
  EXPECT_EQ(used, stream.size());
  EXPECT_EQ(types, (std::vector{FrameType::Method, FrameType::Header, FrameType::Body, FrameType::Heartbeat,
                                FrameType::Body}));
}

TEST(FrameParser, NeedMoreReportsTheWholeFrameSize) {
  Bytes b = frame(3, 5, Bytes(100, 'x'));
  FrameParser p;
  FrameParse r = p.parse(std::span<uint8_t>(b.data(), 3));
  EXPECT_EQ(r.status, FrameParse::kNeedMore);
  EXPECT_EQ(r.size, 7u);
  r = p.parse(std::span<uint8_t>(b.data(), 50));
  EXPECT_EQ(r.status, FrameParse::kNeedMore);
  EXPECT_EQ(r.size, 108u);
}

TEST(FrameParser, BadFrameEnd) {
  Bytes b = frame(1, 3, {0, 10, 0, 11}, 0xcd);
  FrameParse r = FrameParser().parse(b);
  ASSERT_EQ(r.status, FrameParse::kError);
  EXPECT_EQ(r.error.errc, WireErrc::kBadFrameEnd);
  EXPECT_EQ(r.error.reply_code(), ReplyCode::FRAME_ERROR);
  EXPECT_EQ(r.error.channel, 3);
  EXPECT_TRUE(r.error.closes_connection());
}

TEST(FrameParser, FrameMaxCountsTheEightBytesOfOverhead) {
  FrameParser p(kFrameMinSize);
  Bytes fits = frame(3, 1, Bytes(kFrameMinSize - 8, 0));
  EXPECT_EQ(p.parse(fits).status, FrameParse::kFrame);
  Bytes over = frame(3, 1, Bytes(kFrameMinSize - 7, 0));
  FrameParse r = p.parse(over);
  ASSERT_EQ(r.status, FrameParse::kError);
  EXPECT_EQ(r.error.errc, WireErrc::kFrameTooLarge);
  EXPECT_EQ(r.error.reply_code(), ReplyCode::FRAME_ERROR);
  p.set_frame_max(131072);
  EXPECT_EQ(p.parse(over).status, FrameParse::kFrame);
}

TEST(FrameParser, OversizedFrameIsRejectedFromItsHeader) {
  // Only the 7 header bytes have arrived; a 4 GiB size is refused at once
  // instead of asking for (and buffering) the payload.
  Bytes b = {3, 0, 1, 0xff, 0xff, 0xff, 0xff};
  FrameParse r = FrameParser(131072).parse(b);
  ASSERT_EQ(r.status, FrameParse::kError);
  EXPECT_EQ(r.error.errc, WireErrc::kFrameTooLarge);
}

TEST(FrameParser, UnknownFrameType) {
  for (uint8_t t : {0, 4, 7, 9, 65, 255}) {
    Bytes b = frame(t, 0, {});
    FrameParse r = FrameParser().parse(std::span<uint8_t>(b.data(), 7));  // header only
    ASSERT_EQ(r.status, FrameParse::kError) << int(t);
    EXPECT_EQ(r.error.errc, WireErrc::kUnknownFrameType);
    EXPECT_EQ(r.error.reply_code(), ReplyCode::FRAME_ERROR);
  }
}

TEST(FrameParser, HeartbeatMustBeEmptyOnChannelZero) {
  FrameParser p;
  Bytes good = frame(8, 0, {});
  EXPECT_EQ(p.parse(good).status, FrameParse::kFrame);
  for (Bytes bad : {frame(8, 1, {}), frame(8, 0, {0})}) {
    FrameParse r = p.parse(bad);
    ASSERT_EQ(r.status, FrameParse::kError);
    EXPECT_EQ(r.error.errc, WireErrc::kBadHeartbeat);
    EXPECT_EQ(r.error.reply_code(), ReplyCode::FRAME_ERROR);
  }
}

TEST(FrameParser, ErrorReplyCodes) {
  EXPECT_EQ(reply_code_for(WireErrc::kMalformedMethod), ReplyCode::SYNTAX_ERROR);
  EXPECT_EQ(reply_code_for(WireErrc::kMalformedHeader), ReplyCode::SYNTAX_ERROR);
  EXPECT_EQ(reply_code_for(WireErrc::kUnknownMethod), ReplyCode::NOT_IMPLEMENTED);
  EXPECT_EQ(reply_code_for(WireErrc::kUnexpectedFrame), ReplyCode::UNEXPECTED_FRAME);
  EXPECT_EQ(reply_code_for(WireErrc::kContentTooLarge), ReplyCode::PRECONDITION_FAILED);
  EXPECT_FALSE(is_hard_error(reply_code_for(WireErrc::kContentTooLarge)));
  EXPECT_EQ(wire_errc_name(WireErrc::kBadFrameEnd), "bad_frame_end");
}

TEST(ProtocolHeader, Check) {
  const Bytes good = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};
  EXPECT_EQ(check_protocol_header(good), HeaderCheck::kOk);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(check_protocol_header(std::span<const uint8_t>(good.data(), n)), HeaderCheck::kNeedMore) << n;
  }
  // Extra bytes after the header (a pipelining client) do not matter.
  EXPECT_EQ(check_protocol_header(cat({good, {1, 0, 0}})), HeaderCheck::kOk);
  for (Bytes bad : {Bytes{'A', 'M', 'Q', 'P', 1, 1, 0, 9},  // 0-8 style
                    Bytes{'A', 'M', 'Q', 'P', 0, 1, 0, 0},  // AMQP 1.0
                    Bytes{'A', 'M', 'Q', 'P', 0, 0, 9, 0},  // 0-9
                    Bytes{'G', 'E', 'T', ' '},
                    Bytes{0x16, 0x03, 0x01}}) {  // TLS ClientHello
    EXPECT_EQ(check_protocol_header(bad), HeaderCheck::kMismatch);
  }
  EXPECT_EQ(Bytes(kProtocolHeader.begin(), kProtocolHeader.end()), good);
}

}  // namespace
}  // namespace wharf::amqp
