// FrameParser: framing, EOLs and heart-beats, escaping per version, bodies,
// limits and errors, and feeding a stream split at every possible point.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stomp/protocol/frame_parser.h"

namespace wharf::stomp {
namespace {

using namespace std::string_literals;

// Feeds all of `in` at once and returns every frame up to the first
// non-frame result; *last receives that result.
std::vector<Frame> parse_all(FrameParser& p, std::string_view in, FrameParse* last = nullptr) {
  p.feed(in);
  std::vector<Frame> out;
  for (;;) {
    FrameParse r = p.next();
    if (r.status != FrameParse::kFrame) {
      if (last) *last = std::move(r);
      return out;
    }
    out.push_back(std::move(r.frame));
  }
}

Frame one(std::string_view in, Version v = Version::k1_2) {
  FrameParser p;
  p.set_version(v);
  FrameParse last;
  auto frames = parse_all(p, in, &last);
  EXPECT_EQ(last.status, FrameParse::kNeedMore) << last.error.message;
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? Frame{} : frames[0];
}

ParseError error_of(std::string_view in, Version v = Version::k1_2, Limits limits = {}) {
  FrameParser p(limits);
  p.set_version(v);
  FrameParse last;
  parse_all(p, in, &last);
  EXPECT_EQ(last.status, FrameParse::kError);
  return last.error;
}

TEST(StompFrameParser, ParsesSendWithHeadersAndBody) {
  Frame f = one("SEND\ndestination:/queue/a\nreceipt:7\n\nhello\0"s);
  EXPECT_EQ(f.command, "SEND");
  ASSERT_EQ(f.headers.size(), 2u);
  EXPECT_EQ(f.headers[0], (std::pair<std::string, std::string>{"destination", "/queue/a"}));
  EXPECT_EQ(f.headers[1], (std::pair<std::string, std::string>{"receipt", "7"}));
  EXPECT_EQ(f.body, "hello");
}

TEST(StompFrameParser, AcceptsCommandsOfBothDirections) {
  for (const char* c : {"CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "BEGIN", "COMMIT", "ABORT", "ACK",
                        "NACK", "DISCONNECT", "CONNECTED", "MESSAGE", "RECEIPT", "ERROR"}) {
    EXPECT_EQ(one(std::string(c) + "\n\n" + '\0').command, c);
  }
}

TEST(StompFrameParser, RejectsUnknownAndLowercaseCommands) {
  EXPECT_EQ(error_of("send\n\n\0"s).kind, ParseError::kUnknownCommand);
  EXPECT_EQ(error_of("PUBLISH\n\n\0"s).kind, ParseError::kUnknownCommand);
  EXPECT_EQ(error_of("SEND \n\n\0"s).kind, ParseError::kUnknownCommand);
}

TEST(StompFrameParser, ErrorMessageQuotesPeerBytesAsPrintableAscii) {
  // The message becomes an ERROR frame header, which must be UTF-8 text.
  ParseError e = error_of("\x16\x03\xfcZ\n\n\0"s);
  EXPECT_EQ(e.kind, ParseError::kUnknownCommand);
  EXPECT_NE(e.message.find("'\\x16\\x03\\xfcZ'"), std::string::npos) << e.message;
  for (unsigned char c : e.message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << e.message;
}

TEST(StompFrameParser, DuplicateHeadersKeptFirstWins) {
  Frame f = one("MESSAGE\nfoo:first\nfoo:second\n\n\0"s);
  ASSERT_EQ(f.headers.size(), 2u);
  EXPECT_EQ(f.header("foo"), "first");
  EXPECT_EQ(f.headers[1].second, "second");
  EXPECT_FALSE(f.header("bar").has_value());
}

TEST(StompFrameParser, CrlfIn12) {
  Frame f = one("SEND\r\ndestination:/q\r\n\r\nbody\0"s, Version::k1_2);
  EXPECT_EQ(f.header("destination"), "/q");
  EXPECT_EQ(f.body, "body");
}

TEST(StompFrameParser, CrlfOnConnectBeforeNegotiation) {
  Frame f = one("CONNECT\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0"s, Version::k1_0);
  EXPECT_EQ(f.header("accept-version"), "1.2");
  EXPECT_EQ(f.header("host"), "h");
}

TEST(StompFrameParser, TrailingCrIsDataIn11) {
  // 1.1 has no CRLF line ends and no \r escape: the CR belongs to the value.
  Frame f = one("SEND\r\nx:y\r\n\n\0"s, Version::k1_1);
  EXPECT_EQ(f.header("x"), "y\r");
}

TEST(StompFrameParser, SkipsHeartbeatsBetweenFrames) {
  FrameParser p;
  p.set_version(Version::k1_2);
  FrameParse last;
  auto frames = parse_all(p, "\n\r\n\nSEND\n\na\0\n\n\r\nSEND\n\nb\0\n"s, &last);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].body, "a");
  EXPECT_EQ(frames[1].body, "b");
  EXPECT_EQ(last.status, FrameParse::kNeedMore);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(StompFrameParser, BareCrBetweenFramesIsAnError) {
  ParseError e = error_of("SEND\n\n\0\rX"s);
  EXPECT_EQ(e.kind, ParseError::kBadEol);
  EXPECT_EQ(e.offset, 8u);
}

TEST(StompFrameParser, EscapesIn12) {
  Frame f = one("SEND\na\\cb:x\\ny\\\\z\\r\n\n\0"s, Version::k1_2);
  ASSERT_EQ(f.headers.size(), 1u);
  EXPECT_EQ(f.headers[0].first, "a:b");
  EXPECT_EQ(f.headers[0].second, "x\ny\\z\r");
}

TEST(StompFrameParser, EscapesIn11WithoutCr) {
  Frame f = one("SEND\nk:a\\c\\n\\\\\n\n\0"s, Version::k1_1);
  EXPECT_EQ(f.header("k"), "a:\n\\");
  ParseError e = error_of("SEND\nk:\\r\n\n\0"s, Version::k1_1);
  EXPECT_EQ(e.kind, ParseError::kBadEscape);
  EXPECT_EQ(e.offset, 7u);
}

TEST(StompFrameParser, NoEscapingIn10) {
  Frame f = one("SEND\nk:a\\c\\q\\\n\n\0"s, Version::k1_0);
  EXPECT_EQ(f.header("k"), "a\\c\\q\\");
}

TEST(StompFrameParser, UndefinedEscapesAreErrors) {
  for (Version v : {Version::k1_1, Version::k1_2}) {
    EXPECT_EQ(error_of("SEND\nk:\\t\n\n\0"s, v).kind, ParseError::kBadEscape);
    EXPECT_EQ(error_of("SEND\nk:abc\\\n\n\0"s, v).kind, ParseError::kBadEscape);  // truncated
    EXPECT_EQ(error_of("SEND\nk\\x:v\n\n\0"s, v).kind, ParseError::kBadEscape);   // in a name
  }
}

TEST(StompFrameParser, HandshakeFramesAreNeverUnescaped) {
  for (const char* c : {"CONNECT", "STOMP", "CONNECTED"}) {
    Frame f = one(std::string(c) + "\npasscode:a\\cb\\t\n\n" + '\0', Version::k1_2);
    EXPECT_EQ(f.header("passcode"), "a\\cb\\t") << c;
  }
}

TEST(StompFrameParser, SplitsHeaderAtFirstColon) {
  Frame f = one("SEND\nurl:http://x:80\nempty:\n:novalue\n\n\0"s, Version::k1_0);
  EXPECT_EQ(f.header("url"), "http://x:80");
  EXPECT_EQ(f.header("empty"), "");
  EXPECT_EQ(f.header(""), "novalue");
}

TEST(StompFrameParser, HeaderWithoutColonIsAnError) {
  ParseError e = error_of("SEND\ndestination\n\n\0"s);
  EXPECT_EQ(e.kind, ParseError::kMalformedHeader);
  EXPECT_EQ(e.offset, 5u);
}

TEST(StompFrameParser, ContentLengthBodyMayHoldNuls) {
  Frame f = one("SEND\ncontent-length:5\n\na\0b\0c\0"s);
  EXPECT_EQ(f.body, "a\0b\0c"s);
}

TEST(StompFrameParser, FirstContentLengthWins) {
  Frame f = one("SEND\ncontent-length:3\ncontent-length:1\n\na\0b\0"s);
  EXPECT_EQ(f.body, "a\0b"s);
}

TEST(StompFrameParser, EmptyBodyWithContentLengthZero) {
  EXPECT_EQ(one("SEND\ncontent-length:0\n\n\0"s).body, "");
}

TEST(StompFrameParser, ContentLengthMustBeFollowedByNul) {
  ParseError e = error_of("SEND\ncontent-length:2\n\nabc\0"s);
  EXPECT_EQ(e.kind, ParseError::kMissingNul);
  EXPECT_EQ(e.offset, 25u);
}

TEST(StompFrameParser, BadContentLength) {
  for (const char* v : {"", "-1", "1x", " 1", "0x10", "99999999999999999999"}) {
    EXPECT_EQ(error_of("SEND\ncontent-length:"s + v + "\n\n\0"s).kind, ParseError::kBadContentLength) << v;
  }
}

TEST(StompFrameParser, ContentLengthBodyOfOnlyNuls) {
  EXPECT_EQ(one("SEND\ncontent-length:2\n\n\0\0\0"s).body, "\0\0"s);
}

TEST(StompFrameParser, HeaderLineLimit) {
  Limits l;
  l.max_header_line = 16;
  FrameParser at_limit(l);
  EXPECT_EQ(parse_all(at_limit, "SEND\n0123456:89abcdef\n\n\0"s).size(), 1u);  // exactly 16
  FrameParser p(l);
  FrameParse last;
  parse_all(p, "SEND\n0123456:89abcdefg\n\n\0"s, &last);
  EXPECT_EQ(last.status, FrameParse::kError);
  EXPECT_EQ(last.error.kind, ParseError::kHeaderLineTooLong);
  EXPECT_EQ(last.error.offset, 5u + 16u);
  EXPECT_TRUE(last.error.is_limit());
  EXPECT_NE(last.error.message.find("header line too long at byte 21"), std::string::npos) << last.error.message;
  EXPECT_EQ(last.error.to_error().code, Errc::kMessageTooLarge);
}

TEST(StompFrameParser, HeaderLineLimitDetectedBeforeEol) {
  // No LF at all yet: the parser must not wait for one forever.
  Limits l;
  l.max_header_line = 16;
  FrameParser p(l);
  p.feed(std::string(17, 'S'));
  EXPECT_EQ(p.next().status, FrameParse::kNeedMore);  // 17 could still be 16 + CR
  p.feed("S"s);
  FrameParse r = p.next();
  ASSERT_EQ(r.status, FrameParse::kError);
  EXPECT_EQ(r.error.kind, ParseError::kHeaderLineTooLong);
}

TEST(StompFrameParser, CrlfDoesNotCountTowardsLineLimit) {
  Limits l;
  l.max_header_line = 4;
  FrameParser p(l);
  p.set_version(Version::k1_2);
  FrameParse last;
  auto frames = parse_all(p, "SEND\r\na:bc\r\n\r\n\0"s, &last);
  EXPECT_EQ(frames.size(), 1u);
  EXPECT_EQ(last.status, FrameParse::kNeedMore);
}

TEST(StompFrameParser, HeaderCountLimit) {
  Limits l;
  l.max_headers = 2;
  FrameParser ok(l);
  EXPECT_EQ(parse_all(ok, "SEND\na:1\nb:2\n\n\0"s).size(), 1u);
  ParseError e = error_of("SEND\na:1\nb:2\nc:3\n\n\0"s, Version::k1_2, l);
  EXPECT_EQ(e.kind, ParseError::kTooManyHeaders);
  EXPECT_EQ(e.offset, 13u);
}

TEST(StompFrameParser, BodyLimitWithContentLengthIsCheckedBeforeTheBody) {
  Limits l;
  l.max_body = 4;
  ParseError e = error_of("SEND\ncontent-length:5\n\n"s, Version::k1_2, l);
  EXPECT_EQ(e.kind, ParseError::kBodyTooLarge);
  EXPECT_EQ(e.offset, 23u);
  FrameParser p(l);
  EXPECT_EQ(parse_all(p, "SEND\ncontent-length:4\n\nabcd\0"s).size(), 1u);
}

TEST(StompFrameParser, BodyLimitWithoutContentLength) {
  Limits l;
  l.max_body = 4;
  FrameParser p(l);
  p.feed("SEND\n\nabcd"s);
  EXPECT_EQ(p.next().status, FrameParse::kNeedMore);
  p.feed("e"s);
  FrameParse r = p.next();
  ASSERT_EQ(r.status, FrameParse::kError);
  EXPECT_EQ(r.error.kind, ParseError::kBodyTooLarge);
  EXPECT_EQ(r.error.offset, 10u);
}

TEST(StompFrameParser, ErrorIsSticky) {
  FrameParser p;
  p.feed("BOGUS\n\n\0SEND\n\n\0"s);
  EXPECT_EQ(p.next().status, FrameParse::kError);
  FrameParse again = p.next();
  EXPECT_EQ(again.status, FrameParse::kError);
  EXPECT_EQ(again.error.kind, ParseError::kUnknownCommand);
}

TEST(StompFrameParser, OffsetsCountFromStreamStart) {
  FrameParser p;
  p.set_version(Version::k1_2);
  FrameParse last;
  auto frames = parse_all(p, "SEND\n\n\0\nSEND\nk:\\q\n\n\0"s, &last);
  EXPECT_EQ(frames.size(), 1u);
  ASSERT_EQ(last.status, FrameParse::kError);
  EXPECT_EQ(last.error.kind, ParseError::kBadEscape);
  EXPECT_EQ(last.error.offset, 15u);
}

TEST(StompFrameParser, VersionChangeAppliesToLaterFrames) {
  FrameParser p;
  p.feed("CONNECT\naccept-version:1.2\n\n\0SEND\nk:a\\cb\n\n\0"s);
  FrameParse c = p.next();
  ASSERT_EQ(c.status, FrameParse::kFrame);
  p.set_version(Version::k1_2);
  FrameParse s = p.next();
  ASSERT_EQ(s.status, FrameParse::kFrame);
  EXPECT_EQ(s.frame.header("k"), "a:b");
}

// A stream exercising every rule, fed in two chunks split at each point and
// one byte at a time: the frames must be the same as when fed whole.
TEST(StompFrameParser, EverySplitPointGivesTheSameFrames) {
  const std::string stream =
      "\r\nSEND\r\ndestination:/queue/a\\cb\r\ncontent-length:3\r\n\r\nx\0y\0\r\n\n"
      "MESSAGE\nk:v\\nw\\\\\\r\nk:dup\n\nplain body\0"
      "ACK\nid:1\n\n\0\n"s;
  FrameParser whole;
  whole.set_version(Version::k1_2);
  FrameParse last;
  const std::vector<Frame> expected = parse_all(whole, stream, &last);
  ASSERT_EQ(last.status, FrameParse::kNeedMore);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(expected[0].body, "x\0y"s);
  EXPECT_EQ(expected[1].header("k"), "v\nw\\\r");

  auto same = [&](const std::vector<Frame>& got) {
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].command, expected[i].command);
      EXPECT_EQ(got[i].headers, expected[i].headers);
      EXPECT_EQ(got[i].body, expected[i].body);
    }
  };
  for (size_t split = 0; split <= stream.size(); ++split) {
    SCOPED_TRACE(split);
    FrameParser p;
    p.set_version(Version::k1_2);
    std::vector<Frame> got = parse_all(p, std::string_view(stream).substr(0, split));
    auto rest = parse_all(p, std::string_view(stream).substr(split), &last);
    EXPECT_EQ(last.status, FrameParse::kNeedMore);
    got.insert(got.end(), rest.begin(), rest.end());
    same(got);
  }
  FrameParser bytewise;
  bytewise.set_version(Version::k1_2);
  std::vector<Frame> got;
  for (char c : stream) {
    auto more = parse_all(bytewise, std::string_view(&c, 1), &last);
    ASSERT_NE(last.status, FrameParse::kError) << last.error.message;
    got.insert(got.end(), more.begin(), more.end());
  }
  same(got);
}

}  // namespace
}  // namespace wharf::stomp
