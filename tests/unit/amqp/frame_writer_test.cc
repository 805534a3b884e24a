// Frame writer: method, content header, body and heartbeat frames, body
// splitting at frame_max, frames that cannot be sent, and parse-back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::be32;
using test::Bytes;
using test::cat;
using test::shortstr;
using test::str_bytes;

// Parses every frame in b; fails the test on an error or leftover bytes.
std::vector<Frame> parse_all(Bytes& b, uint32_t frame_max) {
  std::vector<Frame> frames;
  FrameParser p(frame_max);
  size_t used = 0;
  while (used < b.size()) {
    FrameParse r = p.parse(std::span<uint8_t>(b).subspan(used));
    EXPECT_EQ(r.status, FrameParse::kFrame) << "at byte " << used;
    if (r.status != FrameParse::kFrame) break;
    frames.push_back(r.frame);
    used += r.size;
  }
  return frames;
}

TEST(FrameWriter, MethodFrameBytes) {
  OutBuffer out;
  msg::ChannelOpenOk ok;
  ASSERT_TRUE(write_method_frame(out, 7, ok, kFrameMinSize).ok());
  // channel.open-ok: class 20, method 11, channel-id longstr "".
  EXPECT_EQ(out.to_bytes(), (Bytes{1, 0, 7, 0, 0, 0, 8, 0, 20, 0, 11, 0, 0, 0, 0, 0xce}));
}

TEST(FrameWriter, AnyMethodWritesTheSameBytes) {
  msg::BasicConsumeOk m;
  m.consumer_tag = "ctag";
  OutBuffer a, b;
  ASSERT_TRUE(write_method_frame(a, 1, m, kFrameMinSize).ok());
  ASSERT_TRUE(write_method_frame(b, 1, msg::AnyMethod(m), kFrameMinSize).ok());
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
}

TEST(FrameWriter, FramesAppendAfterFileChunks) {
  // The size patch must find the header even when the buffer already holds
  // file slices and other frames.
  char path[] = "/tmp/wharf_amqp_frame_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content = "0123456789";
  ASSERT_EQ(write(fd, content.data(), content.size()), ssize_t(content.size()));
  OutBuffer out;
  write_body_frames(out, 1, FileSlice{nullptr, fd, 2, 5}, kFrameMinSize);
  msg::BasicAck ack;
  ack.delivery_tag = 9;
  ASSERT_TRUE(write_method_frame(out, 1, ack, kFrameMinSize).ok());
  write_body_frames(out, 1, FileSlice{nullptr, fd, 0, 1}, kFrameMinSize);
  // A table size slot after file chunks is filled in place too.
  msg::BasicProperties props;
  props.headers = FieldTable().set("k", FieldTable().set("n", int32_t(1)));
  ASSERT_TRUE(write_content_header_frame(out, 1, 0, props, kFrameMinSize).ok());
  Bytes b = out.to_bytes();
  close(fd);
  unlink(path);
  EXPECT_EQ(b, cat({{3, 0, 1}, be32(5), str_bytes("23456"), {0xce},
                    {1, 0, 1}, be32(13), {0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 9, 0}, {0xce},
                    {3, 0, 1}, be32(1), str_bytes("0"), {0xce},
                    {2, 0, 1}, be32(32), {0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x00},
                    be32(14), shortstr("k"), {'F'}, be32(7), shortstr("n"), {'I', 0, 0, 0, 1}, {0xce}}));
}

TEST(FrameWriter, ContentHeaderFrame) {
  OutBuffer out;
  ContentHeader h;
  h.body_size = 3;
  h.properties.delivery_mode = 2;
  ASSERT_TRUE(write_content_header_frame(out, 1, h, kFrameMinSize).ok());
  EXPECT_EQ(out.to_bytes(), cat({{2, 0, 1}, be32(15), {0, 60, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 3}, {0x10, 0x00, 0x02},
                                 {0xce}}));
}

TEST(FrameWriter, HeartbeatFrame) {
  OutBuffer out;
  write_heartbeat_frame(out);
  EXPECT_EQ(out.to_bytes(), (Bytes{8, 0, 0, 0, 0, 0, 0, 0xce}));
}

TEST(FrameWriter, BodyIsSplitAtFrameMaxMinusEight) {
  const uint32_t frame_max = kFrameMinSize;
  const size_t chunk = frame_max - 8;
  for (size_t size : {size_t(0), size_t(1), chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 7}) {
    Bytes body(size);
    for (size_t i = 0; i < size; ++i) body[i] = uint8_t(i * 7);
    OutBuffer out;
    write_body_frames(out, 9, body, frame_max);
    Bytes b = out.to_bytes();
    std::vector<Frame> frames = parse_all(b, frame_max);
    EXPECT_EQ(frames.size(), (size + chunk - 1) / chunk) << size;
    Bytes joined;
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].type, FrameType::Body);
      EXPECT_EQ(frames[i].channel, 9);
      // Every frame but the last is exactly frame_max bytes.
      if (i + 1 < frames.size()) {
        EXPECT_EQ(frames[i].payload.size(), chunk);
      }
      joined.insert(joined.end(), frames[i].payload.begin(), frames[i].payload.end());
    }
    EXPECT_EQ(joined, body) << size;
  }
}

TEST(FrameWriter, WriteContentEmitsMethodHeaderAndBodies) {
  msg::BasicDeliver d;
  d.consumer_tag = "c";
  d.delivery_tag = 1;
  d.routing_key = "rk";
  msg::BasicProperties props;
  props.content_type = "text/plain";
  Bytes body(10000, 'b');
  OutBuffer out;
  ASSERT_TRUE(write_content(out, 2, d, props, body, kFrameMinSize).ok());
  Bytes b = out.to_bytes();
  std::vector<Frame> frames = parse_all(b, kFrameMinSize);
  ASSERT_EQ(frames.size(), 5u);  // method, header, 3 bodies of 4088 + 4088 + 1824
  EXPECT_EQ(frames[0].type, FrameType::Method);
  EXPECT_EQ(frames[1].type, FrameType::Header);
  auto h = decode_content_header(frames[1].payload);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->body_size, 10000u);
  EXPECT_EQ(h->properties, props);
  EXPECT_EQ(frames[4].payload.size(), 10000u - 2 * 4088);
}

TEST(FrameWriter, MethodLargerThanFrameMaxIsAnError) {
  msg::ConnectionStart s;
  s.server_properties.set("big", std::string(kFrameMinSize, 'x'));
  OutBuffer out;
  auto st = write_method_frame(out, 0, s, kFrameMinSize);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kMessageTooLarge);
  OutBuffer out2;
  EXPECT_TRUE(write_method_frame(out2, 0, s, 131072).ok());
}

TEST(FrameWriter, ValueThatDoesNotFitIsAnError) {
  msg::QueueDeclareOk q;
  q.queue = std::string(300, 'q');
  OutBuffer out;
  auto st = write_method_frame(out, 1, q, kFrameMinSize);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace wharf::amqp
