// The opening handshake: the request checks a browser or a broken client
// would run into, the HTTP status each gets, and subprotocol choice.
#include "net/websocket/handshake.h"

#include <gtest/gtest.h>

#include "websocket_test_util.h"

namespace wharf::net::websocket {
namespace {

using testing::upgrade_request;
using Status = HandshakeParser::Status;

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

HandshakePolicy stomp_policy() {
  HandshakePolicy p;
  p.path = "/ws";
  p.subprotocols = {"v12.stomp", "v11.stomp", "v10.stomp"};
  return p;
}

struct Outcome {
  Status status;
  size_t consumed;
  HandshakeParser parser{8192};
};

std::unique_ptr<Outcome> feed(std::string_view req, const HandshakePolicy& policy = stomp_policy(),
                              size_t max = 8192) {
  auto o = std::make_unique<Outcome>();
  o->parser = HandshakeParser(max);
  o->status = o->parser.feed(bytes(req), policy, &o->consumed);
  return o;
}

TEST(WebSocketHandshake, AcceptKeyOfTheRfcSample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AcceptsAnUpgradeAndConsumesOnlyTheHead) {
  std::string req = upgrade_request("/ws?token=1", "v10.stomp, v11.stomp, v12.stomp");
  std::string with_frame = req + "\x81\x80" "abcd";  // a frame sent right behind the request
  auto o = feed(with_frame);
  ASSERT_EQ(o->status, Status::kAccepted);
  EXPECT_EQ(o->consumed, req.size());
  const auto& r = o->parser.request();
  EXPECT_EQ(r.path, "/ws");
  EXPECT_EQ(r.target, "/ws?token=1");
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.protocol, "v12.stomp");  // server preference, not the client's order
  EXPECT_EQ((std::vector<std::string>{"v10.stomp", "v11.stomp", "v12.stomp"}), r.offered_protocols);

  std::string resp = render_accept(r);
  EXPECT_EQ(resp,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n");
}

TEST(WebSocketHandshake, IncrementalByteByByte) {
  std::string req = upgrade_request("/ws", "v11.stomp");
  HandshakeParser p(8192);
  size_t consumed = 0;
  for (size_t n = 1; n < req.size(); ++n) {
    ASSERT_EQ(p.feed(bytes(std::string_view(req).substr(0, n)), stomp_policy(), &consumed), Status::kIncomplete) << n;
    EXPECT_EQ(consumed, 0u);
  }
  ASSERT_EQ(p.feed(bytes(req), stomp_policy(), &consumed), Status::kAccepted);
  EXPECT_EQ(consumed, req.size());
  EXPECT_EQ(p.request().protocol, "v11.stomp");
}

TEST(WebSocketHandshake, BrowserStyleHeaders) {
  // Firefox: "Connection: keep-alive, Upgrade"; names in any case; protocols in two headers.
  std::string req =
      "GET /ws HTTP/1.1\r\nhost: localhost:15674\r\nUser-Agent: x\r\nUPGRADE: WebSocket\r\n"
      "connection: keep-alive, Upgrade\r\nsec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==  \r\n"
      "Origin: http://localhost:8000\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: v10.stomp\r\nSec-WebSocket-Protocol: v11.stomp\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
  auto o = feed(req);
  ASSERT_EQ(o->status, Status::kAccepted) << o->parser.rejection().message;
  EXPECT_EQ(o->parser.request().protocol, "v11.stomp");
  EXPECT_EQ(o->parser.request().origin, "http://localhost:8000");
  EXPECT_EQ(o->parser.request().key, "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(WebSocketHandshake, NoSubprotocolOfferedNoneChosen) {
  auto o = feed(upgrade_request("/ws"));
  ASSERT_EQ(o->status, Status::kAccepted);
  EXPECT_EQ(o->parser.request().protocol, "");
  EXPECT_EQ(render_accept(o->parser.request()).find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WebSocketHandshake, OnlyUnsupportedSubprotocolsIsRefused) {
  auto o = feed(upgrade_request("/ws", "mqtt, wamp"));
  ASSERT_EQ(o->status, Status::kRejected);
  EXPECT_EQ(o->parser.rejection().status, 400);
  EXPECT_NE(o->parser.rejection().message.find("v12.stomp"), std::string::npos);
}

TEST(WebSocketHandshake, WrongPathIs404) {
  auto o = feed(upgrade_request("/stomp"));
  ASSERT_EQ(o->status, Status::kRejected);
  EXPECT_EQ(o->parser.rejection().status, 404);
  std::string resp = render_rejection(o->parser.rejection());
  EXPECT_EQ(resp.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  auto body_at = resp.find("\r\n\r\n") + 4;
  EXPECT_NE(resp.find("Content-Length: " + std::to_string(resp.size() - body_at) + "\r\n"), std::string::npos);
  EXPECT_NE(resp.find("Connection: close\r\n"), std::string::npos);
}

TEST(WebSocketHandshake, PlainGetIs426WithUpgradeHeader) {
  auto o = feed("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(o->status, Status::kRejected);
  EXPECT_EQ(o->parser.rejection().status, 426);
  std::string resp = render_rejection(o->parser.rejection());
  EXPECT_NE(resp.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
}

TEST(WebSocketHandshake, OtherVersionIs426Naming13) {
  std::string req = upgrade_request();
  req.replace(req.find("Version: 13"), 11, "Version: 8");
  auto o = feed(req);
  ASSERT_EQ(o->status, Status::kRejected);
  EXPECT_EQ(o->parser.rejection().status, 426);
  EXPECT_NE(render_rejection(o->parser.rejection()).find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(WebSocketHandshake, BadRequestsAre400Or405) {
  struct Case {
    std::string req;
    int status;
  } cases[] = {
      {upgrade_request("/ws", {}, "short=="), 400},
      {upgrade_request("/ws", {}, "dGhlIHNhbXBsZSBub25jZQ"), 400},    // no padding
      {upgrade_request("/ws", {}, "dGhlIHNhbXBsZSBub25jZR=="), 400},  // last character carries stray bits
      {upgrade_request("/ws", {}, "dGhlIHNhbXBsZSBub2 jZQ=="), 400},
      {"POST /ws HTTP/1.1\r\nHost: a\r\n\r\n", 405},
      {"GET /ws HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 400},
      {"GET  /ws HTTP/1.1\r\n\r\n", 400},
      {"GET ws HTTP/1.1\r\n\r\n", 400},
      {"\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    auto o = feed(c.req);
    ASSERT_EQ(o->status, Status::kRejected) << c.req;
    EXPECT_EQ(o->parser.rejection().status, c.status) << c.req;
  }
  // Each header check on its own.
  auto without = [](std::string_view header) {
    std::string r = upgrade_request();
    auto at = r.find(header);
    r.erase(at, r.find("\r\n", at) + 2 - at);
    return r;
  };
  for (auto h : {"Host:", "Connection:", "Sec-WebSocket-Key:"}) {
    auto o = feed(without(h));
    ASSERT_EQ(o->status, Status::kRejected) << h;
    EXPECT_EQ(o->parser.rejection().status, 400) << h;
  }
  std::string folded = upgrade_request();
  folded.insert(folded.find("Upgrade:"), "X-A: 1\r\n 2\r\n");
  EXPECT_EQ(feed(folded)->status, Status::kRejected);
  std::string two_keys = upgrade_request();
  two_keys.insert(two_keys.find("Upgrade:"), "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
  EXPECT_EQ(feed(two_keys)->parser.rejection().status, 400);
}

TEST(WebSocketHandshake, HeadSizeIsBounded) {
  std::string big = "GET /ws HTTP/1.1\r\nX-Filler: " + std::string(300, 'a');
  auto o = feed(big, stomp_policy(), 256);
  ASSERT_EQ(o->status, Status::kRejected);  // no terminator yet, but already too long
  EXPECT_EQ(o->parser.rejection().status, 431);

  std::string whole = upgrade_request();
  EXPECT_EQ(feed(whole, stomp_policy(), whole.size() - 1)->status, Status::kRejected);
  EXPECT_EQ(feed(whole, stomp_policy(), whole.size())->status, Status::kAccepted);
}

TEST(WebSocketHandshake, NegotiationPrefersTheServerOrder) {
  std::vector<std::string> server = {"v12.stomp", "v11.stomp", "v10.stomp"};
  EXPECT_EQ(negotiate_subprotocol({"v10.stomp", "v11.stomp"}, server), "v11.stomp");
  EXPECT_EQ(negotiate_subprotocol({"v10.stomp"}, server), "v10.stomp");
  EXPECT_EQ(negotiate_subprotocol({"V12.STOMP"}, server), "");  // tokens are case-sensitive
  EXPECT_EQ(negotiate_subprotocol({}, server), "");
}

}  // namespace
}  // namespace wharf::net::websocket
