// encode_frame: exact bytes per version, content-length handling,
// unrepresentable headers, and parse(encode(f)) == f.
#include <gtest/gtest.h>

#include <string>

#include "stomp/protocol/frame_parser.h"
#include "stomp/protocol/frame_writer.h"

namespace wharf::stomp {
namespace {

using namespace std::string_literals;

std::string enc(const Frame& f, Version v) {
  std::string out;
  status s = encode_frame(f, v, out);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

TEST(StompFrameWriter, EncodesFrameWithBody) {
  Frame f{"MESSAGE", {{"destination", "/q"}, {"message-id", "1"}}, "hi"};
  EXPECT_EQ(enc(f, Version::k1_2), "MESSAGE\ndestination:/q\nmessage-id:1\ncontent-length:2\n\nhi\0"s);
}

TEST(StompFrameWriter, NoContentLengthForEmptyBody) {
  Frame f{"RECEIPT", {{"receipt-id", "9"}}, ""};
  EXPECT_EQ(enc(f, Version::k1_2), "RECEIPT\nreceipt-id:9\n\n\0"s);
}

TEST(StompFrameWriter, ReplacesCallersContentLength) {
  Frame f{"SEND", {{"content-length", "99"}, {"a", "b"}}, "a\0b"s};
  EXPECT_EQ(enc(f, Version::k1_1), "SEND\na:b\ncontent-length:3\n\na\0b\0"s);
}

TEST(StompFrameWriter, EscapesPerVersion) {
  Frame f{"MESSAGE", {{"k:1", "a\nb\\c\rd"}}, ""};
  EXPECT_EQ(enc(f, Version::k1_2), "MESSAGE\nk\\c1:a\\nb\\\\c\\rd\n\n\0"s);
  EXPECT_EQ(enc(f, Version::k1_1), "MESSAGE\nk\\c1:a\\nb\\\\c\rd\n\n\0"s);
}

TEST(StompFrameWriter, HandshakeFramesAreNotEscaped) {
  Frame f{"CONNECTED", {{"version", "1.2"}, {"server", "wharf\\x:1"}}, ""};
  EXPECT_EQ(enc(f, Version::k1_2), "CONNECTED\nversion:1.2\nserver:wharf\\x:1\n\n\0"s);
}

TEST(StompFrameWriter, RejectsWhatTheVersionCannotCarry) {
  std::string out = "keep";
  EXPECT_EQ(encode_frame(Frame{"SEND", {{"a:b", "v"}}, ""}, Version::k1_0, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(encode_frame(Frame{"SEND", {{"a", "v\nw"}}, ""}, Version::k1_0, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(encode_frame(Frame{"CONNECTED", {{"a", "v\nw"}}, ""}, Version::k1_2, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(encode_frame(Frame{"CONNECTED", {{"a", "v\r"}}, ""}, Version::k1_2, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(encode_frame(Frame{"", {}, ""}, Version::k1_2, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(encode_frame(Frame{"SE\nND", {}, ""}, Version::k1_2, out).code(), Errc::kInvalidArgument);
  EXPECT_EQ(out, "keep");  // nothing appended on error
}

TEST(StompFrameWriter, HeartbeatIsAnEol) {
  std::string out;
  encode_heartbeat(out);
  EXPECT_EQ(out, "\n");
}

TEST(StompFrameWriter, RoundTripsThroughTheParser) {
  const Frame frames[] = {
      {"SEND", {{"destination", "/queue/x"}, {"weird:name", "line1\nline2\\end\r"}, {"dup", "1"}, {"dup", "2"}},
       "bin\0ary\n\0"s},
      {"ERROR", {{"message", "bad: thing"}}, "details"},
      {"UNSUBSCRIBE", {{"id", ""}}, ""},
  };
  for (Version v : {Version::k1_1, Version::k1_2}) {
    std::string wire;
    for (const Frame& f : frames) {
      ASSERT_TRUE(encode_frame(f, v, wire).ok());
      encode_heartbeat(wire);
    }
    FrameParser p;
    p.set_version(v);
    p.feed(wire);
    for (const Frame& f : frames) {
      FrameParse r = p.next();
      ASSERT_EQ(r.status, FrameParse::kFrame) << r.error.message;
      EXPECT_EQ(r.frame.command, f.command);
      EXPECT_EQ(r.frame.body, f.body);
      std::vector<std::pair<std::string, std::string>> got;
      for (auto& h : r.frame.headers) {
        if (h.first != "content-length") got.push_back(h);
      }
      EXPECT_EQ(got, f.headers);
    }
    EXPECT_EQ(p.next().status, FrameParse::kNeedMore);
    EXPECT_EQ(p.buffered(), 0u);
  }
}

}  // namespace
}  // namespace wharf::stomp
