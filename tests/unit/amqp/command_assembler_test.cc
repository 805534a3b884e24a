// CommandAssembler: method / header / body sequences of one channel, and the
// UNEXPECTED_FRAME, SYNTAX_ERROR, NOT_IMPLEMENTED and size errors.
#include <gtest/gtest.h>

#include "amqp/protocol/command_assembler.h"
#include "amqp/protocol/frame_writer.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::Bytes;

// Owns the bytes that the frames' payload views point into.
struct Frames {
  std::vector<Bytes> payloads;
  std::vector<Frame> frames;

  Frames& add(FrameType t, Bytes payload, uint16_t channel = 1) {
    payloads.push_back(std::move(payload));
    frames.push_back(Frame{t, channel, {}});
    return *this;
  }
  Frames& method(const msg::AnyMethod& m) { return add(FrameType::Method, test::method_payload(m)); }
  Frames& header(uint64_t body_size, msg::BasicProperties p = {}) {
    ContentHeader h;
    h.body_size = body_size;
    h.properties = std::move(p);
    return add(FrameType::Header, test::write_with([&](Writer& w) { encode_content_header(h, w); }));
  }
  Frames& body(std::string_view s) { return add(FrameType::Body, test::str_bytes(s)); }

  // Payload views are fixed up last: payloads may move while growing.
  std::vector<Frame>& get() {
    for (size_t i = 0; i < frames.size(); ++i) frames[i].payload = payloads[i];
    return frames;
  }
};

msg::BasicPublish publish() {
  msg::BasicPublish p;
  p.routing_key = "rk";
  return p;
}

TEST(CommandAssembler, MethodWithoutContentCompletesAtOnce) {
  Frames f;
  f.method(msg::ChannelOpen{});
  CommandAssembler a(1, 1 << 20);
  AssembleResult r = a.add(f.get()[0]);
  ASSERT_EQ(r.status, AssembleResult::kCommand);
  EXPECT_TRUE(std::holds_alternative<msg::ChannelOpen>(r.command.method));
  EXPECT_FALSE(r.command.header.has_value());
  EXPECT_FALSE(a.in_content());
}

TEST(CommandAssembler, PublishWithBodyInSeveralFrames) {
  msg::BasicProperties props;
  props.message_id = "m";
  Frames f;
  f.method(publish()).header(11, props).body("hello").body(" ").body("world");
  CommandAssembler a(1, 1 << 20);
  auto& fr = f.get();
  for (size_t i = 0; i + 1 < fr.size(); ++i) {
    EXPECT_EQ(a.add(fr[i]).status, AssembleResult::kNeedMore) << i;
    EXPECT_TRUE(a.in_content());
  }
  AssembleResult r = a.add(fr.back());
  ASSERT_EQ(r.status, AssembleResult::kCommand);
  EXPECT_EQ(std::get<msg::BasicPublish>(r.command.method).routing_key, "rk");
  ASSERT_TRUE(r.command.header.has_value());
  EXPECT_EQ(r.command.header->properties.message_id, "m");
  EXPECT_EQ(std::string(r.command.body.begin(), r.command.body.end()), "hello world");
  EXPECT_FALSE(a.in_content());
}

TEST(CommandAssembler, EmptyBodyCompletesAtTheHeader) {
  Frames f;
  f.method(publish()).header(0).method(msg::BasicAck{});
  CommandAssembler a(1, 1 << 20);
  auto& fr = f.get();
  EXPECT_EQ(a.add(fr[0]).status, AssembleResult::kNeedMore);
  AssembleResult r = a.add(fr[1]);
  ASSERT_EQ(r.status, AssembleResult::kCommand);
  EXPECT_TRUE(r.command.body.empty());
  EXPECT_EQ(a.add(fr[2]).status, AssembleResult::kCommand);
}

void expect_error(std::vector<Frame>& frames, WireErrc errc, ReplyCode code, uint64_t max_body = 1 << 20) {
  CommandAssembler a(1, max_body);
  for (size_t i = 0; i + 1 < frames.size(); ++i) ASSERT_NE(a.add(frames[i]).status, AssembleResult::kError) << i;
  AssembleResult r = a.add(frames.back());
  ASSERT_EQ(r.status, AssembleResult::kError);
  EXPECT_EQ(r.error.errc, errc) << r.error.text;
  EXPECT_EQ(r.error.reply_code(), code);
  EXPECT_EQ(r.error.channel, 1);
  EXPECT_FALSE(a.in_content());  // reset after an error
}

TEST(CommandAssembler, UnexpectedFrames) {
  {
    Frames f;
    f.header(1);
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
  {
    Frames f;
    f.body("x");
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
  {
    Frames f;
    f.method(publish()).body("x");  // body before header
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
  {
    Frames f;
    f.method(publish()).header(5).header(5);
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
  {
    Frames f;
    f.method(publish()).header(5).body("ab").method(msg::BasicAck{});
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
  {
    Frames f;
    f.method(publish()).header(3).body("ab").body("cd");  // 4 > 3
    expect_error(f.get(), WireErrc::kUnexpectedFrame, ReplyCode::UNEXPECTED_FRAME);
  }
}

TEST(CommandAssembler, ErrorNamesTheContentMethod) {
  Frames f;
  f.method(publish()).header(5).method(msg::BasicAck{});
  CommandAssembler a(1, 100);
  auto& fr = f.get();
  (void)a.add(fr[0]);
  (void)a.add(fr[1]);
  AssembleResult r = a.add(fr[2]);
  ASSERT_EQ(r.status, AssembleResult::kError);
  EXPECT_EQ(r.error.class_id, 60);
  EXPECT_EQ(r.error.method_id, 40);
}

TEST(CommandAssembler, MalformedAndUnknownMethods) {
  {
    Frames f;
    f.add(FrameType::Method, {0, 60, 0, 40, 0});  // basic.publish cut short
    expect_error(f.get(), WireErrc::kMalformedMethod, ReplyCode::SYNTAX_ERROR);
    CommandAssembler a(1, 100);
    AssembleResult r = a.add(f.get()[0]);
    EXPECT_EQ(r.error.class_id, 60);
    EXPECT_EQ(r.error.method_id, 40);
  }
  {
    Frames f;
    f.add(FrameType::Method, {0, 60, 0, 41});
    expect_error(f.get(), WireErrc::kUnknownMethod, ReplyCode::NOT_IMPLEMENTED);
  }
  {
    Frames f;
    f.add(FrameType::Method, {});
    expect_error(f.get(), WireErrc::kMalformedMethod, ReplyCode::SYNTAX_ERROR);
  }
  {
    Frames f;
    f.method(publish()).add(FrameType::Header, {0, 60, 0, 0, 0});
    expect_error(f.get(), WireErrc::kMalformedHeader, ReplyCode::SYNTAX_ERROR);
  }
}

TEST(CommandAssembler, BodyOverTheLimitIsASoftError) {
  Frames f;
  f.method(publish()).header(101);
  expect_error(f.get(), WireErrc::kContentTooLarge, ReplyCode::PRECONDITION_FAILED, 100);
  AssembleResult r;
  CommandAssembler a(1, 100);
  (void)a.add(f.get()[0]);
  r = a.add(f.get()[1]);
  EXPECT_FALSE(r.error.closes_connection());
}

TEST(CommandAssembler, HugeAnnouncedBodyDoesNotAllocateUpFront) {
  Frames f;
  f.method(publish()).header(uint64_t(1) << 40).body("x");
  CommandAssembler a(1, uint64_t(1) << 41);
  auto& fr = f.get();
  EXPECT_EQ(a.add(fr[0]).status, AssembleResult::kNeedMore);
  EXPECT_EQ(a.add(fr[1]).status, AssembleResult::kNeedMore);  // would throw bad_alloc if it reserved 1 TiB
  EXPECT_EQ(a.add(fr[2]).status, AssembleResult::kNeedMore);
}

}  // namespace
}  // namespace wharf::amqp
