// WebSocket frames: server frame encoding, the client frame reader's rules
// (masking, lengths, fragmentation, control frames, limits) and UTF-8 checks.
#include <gtest/gtest.h>

#include <string>

#include "net/websocket/frame.h"
#include "net/websocket/frame_reader.h"
#include "net/websocket/utf8.h"
#include "websocket_test_util.h"

namespace wharf::net::websocket {
namespace {

using testing::client_frame;
using testing::close_payload;
using Kind = FrameEvent::Kind;

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Feeds `wire` to a reader in pieces of `chunk` bytes the way a connection
// does (all unconsumed input each time) and records what came out.
struct ReadResult {
  std::vector<std::string> messages;  // complete data messages
  std::string partial;                // bytes of an unfinished message
  std::vector<bool> text;
  std::vector<std::string> pings;
  std::optional<uint16_t> close;
  std::string close_reason;
  std::optional<uint16_t> error;
};

ReadResult read_all(const std::string& wire, size_t chunk = 1 << 20, uint64_t max_message = 1 << 20) {
  FrameReader r(max_message);
  ReadResult out;
  std::string buf;  // unconsumed input
  size_t fed = 0;
  while (fed < wire.size() && !out.error && !out.close) {
    size_t n = std::min(chunk, wire.size() - fed);
    buf.append(wire, fed, n);
    fed += n;
    for (;;) {
      size_t used = 0;
      auto in = std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
      FrameEvent e = r.next(in, &used);
      EXPECT_LE(used, buf.size());
      std::string payload(e.payload.begin(), e.payload.end());
      if (e.kind == Kind::kError) {
        // Sticky: asking again gives the same error and consumes nothing.
        size_t again = 1;
        EXPECT_EQ(r.next(in, &again).kind, Kind::kError);
        EXPECT_EQ(again, 0u);
      }
      buf.erase(0, used);
      if (e.kind == Kind::kNeedMore) break;
      if (e.kind == Kind::kData) {
        out.partial += payload;
        if (e.message_end) {
          out.messages.push_back(std::move(out.partial));
          out.text.push_back(e.text);
          out.partial.clear();
        }
      } else if (e.kind == Kind::kPing) {
        out.pings.push_back(payload);
      } else if (e.kind == Kind::kClose) {
        out.close = e.code;
        out.close_reason = payload;
        break;
      } else if (e.kind == Kind::kError) {
        out.error = e.code;
        break;
      }
    }
  }
  return out;
}

TEST(WebSocketFrame, ServerHeaderLengthForms) {
  struct Case { uint64_t len; std::string want; } cases[] = {
      {0, std::string("\x81\x00", 2)},
      {125, "\x81\x7d"},
      {126, std::string("\x81\x7e\x00\x7e", 4)},
      {65535, "\x81\x7e\xff\xff"},
      {65536, std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10)},
  };
  for (const auto& c : cases) {
    OutBuffer out;
    encode_frame_header(out, Opcode::kText, c.len);
    auto b = out.to_bytes();
    EXPECT_EQ(std::string(b.begin(), b.end()), c.want) << c.len;
  }
  OutBuffer out;
  encode_frame_header(out, Opcode::kBinary, 3, /*fin=*/false);
  EXPECT_EQ(out.to_bytes()[0], 0x02);
}

TEST(WebSocketFrame, CloseFrameReasonIsCutAtACharacterBoundary) {
  std::string reason = std::string(122, 'a') + "\xc3\xa9";  // 'é' would straddle byte 123
  auto b = encode_close(close_code::kPolicyViolation, reason).to_bytes();
  std::string wire(b.begin(), b.end());
  auto frames = testing::take_server_frames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 0x8);
  EXPECT_EQ(frames[0].close_code(), 1008);
  EXPECT_EQ(frames[0].payload.size(), 2u + 122u);
  EXPECT_TRUE(is_valid_utf8(bytes(frames[0].payload.substr(2))));
}

TEST(WebSocketFrame, LengthFormsAndMaskingDecode) {
  std::string p125(125, 'x'), p126(126, 'y'), p70k(70000, 'z');
  p70k[69999] = '!';
  std::string wire = client_frame(0x1, "") + client_frame(0x1, p125) + client_frame(0x2, p126) +
                     client_frame(0x2, p70k) + client_frame(0x1, "short", true, true, 0, 0x01020304, 127);
  for (size_t chunk : {size_t(1), size_t(7), size_t(1000), size_t(1) << 20}) {
    ReadResult r = read_all(wire, chunk);
    ASSERT_FALSE(r.error) << chunk;
    ASSERT_EQ(r.messages.size(), 5u) << chunk;
    EXPECT_EQ(r.messages[0], "");
    EXPECT_EQ(r.messages[1], p125);
    EXPECT_EQ(r.messages[2], p126);
    EXPECT_EQ(r.messages[3], p70k);
    EXPECT_EQ(r.messages[4], "short");  // a non-minimal length form is accepted
    EXPECT_EQ(r.text, (std::vector<bool>{true, true, false, false, true}));
  }
}

TEST(WebSocketFrame, FragmentedMessageWithControlFramesBetween) {
  // "héllo" split inside the two-byte 'é', with a ping between fragments and
  // an empty final continuation.
  std::string wire = client_frame(0x1, "h\xc3", false) + client_frame(0x9, "p1") +
                     client_frame(0x0, "\xa9ll", false) + client_frame(0x0, "o", false) + client_frame(0x0, "", true) +
                     client_frame(0x2, "bin");
  for (size_t chunk : {size_t(1), size_t(3), size_t(1) << 20}) {
    ReadResult r = read_all(wire, chunk);
    ASSERT_FALSE(r.error) << chunk;
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0], "h\xc3\xa9llo");
    EXPECT_TRUE(r.text[0]);
    EXPECT_EQ(r.messages[1], "bin");
    EXPECT_EQ(r.pings, std::vector<std::string>{"p1"});
  }
}

TEST(WebSocketFrame, CloseFrames) {
  ReadResult r = read_all(client_frame(0x8, close_payload(1000, "bye")) + client_frame(0x1, "after"));
  EXPECT_EQ(r.close, 1000);
  EXPECT_EQ(r.close_reason, "bye");
  EXPECT_TRUE(r.messages.empty());

  r = read_all(client_frame(0x8, ""));
  EXPECT_EQ(r.close, close_code::kNoStatus);
  r = read_all(client_frame(0x8, close_payload(4000)));
  EXPECT_EQ(r.close, 4000);
}

TEST(WebSocketFrame, ProtocolViolationsCloseWith1002) {
  const std::string cases[] = {
      client_frame(0x1, "unmasked", true, /*masked=*/false),
      client_frame(0x1, "rsv1", true, true, /*rsv=*/4),
      client_frame(0x1, "rsv3", true, true, /*rsv=*/1),
      client_frame(0x3, "reserved data opcode"),
      client_frame(0xB, "reserved control opcode"),
      client_frame(0x0, "continuation first"),
      client_frame(0x1, "a", false) + client_frame(0x1, "new message inside"),
      client_frame(0x9, "fragmented ping", false),
      client_frame(0x9, std::string(126, 'p')),
      client_frame(0x8, "x"),                    // one-byte close payload
      client_frame(0x8, close_payload(1005)),    // reserved, never on the wire
      client_frame(0x8, close_payload(999)),
      client_frame(0x8, close_payload(2000)),
      std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" "abcd", 14),  // 64-bit length, top bit set
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    ReadResult r = read_all(cases[i]);
    EXPECT_EQ(r.error, close_code::kProtocolError) << "case " << i;
  }
  // Ping of exactly 125 bytes is fine.
  EXPECT_FALSE(read_all(client_frame(0x9, std::string(125, 'p'))).error);
}

TEST(WebSocketFrame, InvalidUtf8Closes1007) {
  EXPECT_EQ(read_all(client_frame(0x1, "bad \xff")).error, close_code::kInvalidPayload);
  EXPECT_EQ(read_all(client_frame(0x1, "cut \xe2\x82")).error, close_code::kInvalidPayload);
  // Cut inside a character at the end of a fragmented message.
  EXPECT_EQ(read_all(client_frame(0x1, "a\xe2", false) + client_frame(0x0, "\x82")).error, close_code::kInvalidPayload);
  EXPECT_EQ(read_all(client_frame(0x8, close_payload(1000, "\xc0\xaf"))).error, close_code::kInvalidPayload);
  // The same bytes in a binary message are fine.
  EXPECT_FALSE(read_all(client_frame(0x2, "bad \xff")).error);
}

TEST(WebSocketFrame, MessageSizeLimitCountsAllFragments) {
  EXPECT_FALSE(read_all(client_frame(0x2, std::string(100, 'a')), 1 << 20, 100).error);
  EXPECT_EQ(read_all(client_frame(0x2, std::string(101, 'a')), 1 << 20, 100).error, close_code::kMessageTooBig);
  std::string two = client_frame(0x2, std::string(60, 'a'), false) + client_frame(0x0, std::string(41, 'b'));
  EXPECT_EQ(read_all(two, 1 << 20, 100).error, close_code::kMessageTooBig);
  // Refused from the header alone: no payload needs to arrive.
  std::string header_only = client_frame(0x2, std::string(1000, 'a')).substr(0, 8);
  EXPECT_EQ(read_all(header_only, 1 << 20, 100).error, close_code::kMessageTooBig);
}

TEST(WebSocketFrame, ControlFrameHeaderIsNotConsumedBeforeItsPayload) {
  FrameReader r(1024);
  std::string wire = client_frame(0x9, "abc");
  std::string part = wire.substr(0, wire.size() - 1);
  size_t used = 99;
  auto e = r.next({reinterpret_cast<uint8_t*>(part.data()), part.size()}, &used);
  EXPECT_EQ(e.kind, Kind::kNeedMore);
  EXPECT_EQ(used, 0u);
  e = r.next({reinterpret_cast<uint8_t*>(wire.data()), wire.size()}, &used);
  EXPECT_EQ(e.kind, Kind::kPing);
  EXPECT_EQ(used, wire.size());
}

TEST(Utf8, ValidatorCases) {
  EXPECT_TRUE(is_valid_utf8(bytes("plain ascii, long enough for the fast path")));
  EXPECT_TRUE(is_valid_utf8(bytes("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf")));  // é € 😀 U+10FFFF
  EXPECT_FALSE(is_valid_utf8(bytes("\xc0\x80")));          // overlong NUL
  EXPECT_FALSE(is_valid_utf8(bytes("\xe0\x80\xaf")));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8(bytes("\xed\xa0\x80")));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8(bytes("\xf4\x90\x80\x80")));  // U+110000
  EXPECT_FALSE(is_valid_utf8(bytes("\x80")));
  EXPECT_FALSE(is_valid_utf8(bytes("\xf8\x88\x80\x80\x80")));
  EXPECT_FALSE(is_valid_utf8(bytes("\xe2\x82")));  // cut
  Utf8Validator v;  // split anywhere
  EXPECT_TRUE(v.feed(bytes("\xf0\x9f")));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed(bytes("\x98")));
  EXPECT_TRUE(v.feed(bytes("\x80")));
  EXPECT_TRUE(v.complete());
}

}  // namespace
}  // namespace wharf::net::websocket
