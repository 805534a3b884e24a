// WebSocketSession on a real net::Connection (a socketpair stands in for
// TCP) with a line-echo inner session: the byte stream the inner session sees
// is independent of how the client cut it into frames, its output comes back
// as frames, and closing works from either side.
#include "net/websocket/session.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "websocket_test_util.h"

namespace wharf::net::websocket {
namespace {

using testing::client_frame;
using testing::close_payload;
using testing::ServerFrame;
using testing::upgrade_request;

struct InnerLog {
  std::vector<std::string> lines;
  std::string protocol;
  int closes = 0;
  Transport* transport = nullptr;
};

// Consumes whole lines, like a protocol that takes whole units and leaves
// the rest; answers each with "echo:<line>\n". A few lines are commands.
class LineEcho : public Session {
 public:
  LineEcho(std::unique_ptr<Transport> t, InnerLog* log) : t_(std::move(t)), log_(log) { log_->transport = t_.get(); }
  result<size_t> on_data(const Block&, std::span<uint8_t> data, size_t*) override {
    std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) return size_t(0);
    std::string line(s.substr(0, nl));
    log_->lines.push_back(line);
    if (line == "fail") return make_error(Errc::kInvalidArgument, "inner protocol error");
    if (line == "close") {
      t_->close();
    } else if (line == "pause") {
      t_->pause_reading();
    } else {
      OutBuffer out;
      std::string reply = line == "binary" ? std::string("\xff\xfe\n") : "echo:" + line + "\n";
      out.append(reply.data(), reply.size());
      t_->send(std::move(out));
    }
    return nl + 1;
  }
  void on_close() override { ++log_->closes; }

 private:
  std::unique_ptr<Transport> t_;
  InnerLog* log_;
};

struct Harness {
  asio::io_context io;
  int peer = -1;
  std::weak_ptr<Connection> conn;
  InnerLog inner;
  bool keep_inner = false;
  std::shared_ptr<LineEcho> kept;  // set when keep_inner: outlives the connection
  std::string received;  // server bytes not yet taken as frames

  explicit Harness(WebSocketOptions opts = stomp_options()) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer = fds[1];
    asio::ip::tcp::socket s(io);
    asio::error_code ec;
    s.assign(asio::ip::tcp::v4(), fds[0], ec);
    EXPECT_FALSE(ec);
    auto c = std::make_shared<Connection>(std::move(s), ConnectionLimits{});
    c->set_session(make_websocket_session(c, std::move(opts), [this](std::unique_ptr<Transport> t, const UpgradeRequest& r) {
      inner.protocol = r.protocol;
      auto s = std::make_shared<LineEcho>(std::move(t), &inner);
      if (keep_inner) kept = s;
      return std::make_unique<SharedSession>(std::move(s));
    }));
    c->start();
    conn = c;
  }
  ~Harness() {
    if (peer >= 0) ::close(peer);
    io.restart();
    io.poll();
    kept.reset();  // before the io_context its timer belongs to
  }
  static WebSocketOptions stomp_options() {
    WebSocketOptions o;
    o.handshake.subprotocols = {"v12.stomp", "v11.stomp", "v10.stomp"};
    return o;
  }
  void write(const std::string& s) {
    ASSERT_EQ(::send(peer, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())) << "the server closed the connection";
    pump();
  }
  void pump() {
    for (int i = 0; i < 4; ++i) {
      io.restart();
      io.poll();
    }
    read_available();
  }
  bool eof = false;
  void read_available() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) { eof = true; return; }
      if (n < 0) return;
      received.append(buf, size_t(n));
    }
  }
  // Completes the handshake and checks the 101.
  void open(std::string_view protocols = "v10.stomp,v11.stomp") {
    write(upgrade_request("/ws", protocols));
    auto end = received.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << received;
    std::string head = received.substr(0, end + 4);
    received.erase(0, end + 4);
    ASSERT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << head;
    ASSERT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  }
  std::vector<ServerFrame> frames() { return testing::take_server_frames(received); }
};

std::vector<std::string> payloads(const std::vector<ServerFrame>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.payload);
  return out;
}

TEST(WebSocketSession, EchoThroughFramesCutAnywhere) {
  Harness h;
  h.open();
  EXPECT_EQ(h.inner.protocol, "v11.stomp");
  // "one\ntwo\n" over three messages, the second fragmented; a line spans messages.
  h.write(client_frame(0x1, "o") + client_frame(0x1, "ne\ntw", false) + client_frame(0x9, "hb") +
          client_frame(0x0, "o", false) + client_frame(0x0, "\nthr", true));
  h.write(client_frame(0x2, "ee\n"));
  EXPECT_EQ(h.inner.lines, (std::vector<std::string>{"one", "two", "three"}));
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 4u);
  EXPECT_EQ(fs[0].opcode, 0x1);
  EXPECT_EQ(fs[0].payload, "echo:one\n");
  EXPECT_EQ(fs[1].opcode, 0xA);  // the pong, in order
  EXPECT_EQ(fs[1].payload, "hb");
  EXPECT_EQ(fs[2].payload, "echo:two\n");
  EXPECT_EQ(fs[3].payload, "echo:three\n");
  for (const auto& f : fs) {
    EXPECT_TRUE(f.fin);
    EXPECT_FALSE(f.masked);
    EXPECT_EQ(f.rsv, 0);
  }
}

TEST(WebSocketSession, ByteAtATime) {
  Harness h;
  std::string all = upgrade_request("/ws", "v12.stomp") + client_frame(0x1, "a\nb") + client_frame(0x1, std::string(300, 'c') + "\n");
  for (char ch : all) h.write(std::string(1, ch));
  EXPECT_EQ(h.inner.protocol, "v12.stomp");
  ASSERT_EQ(h.inner.lines.size(), 2u);
  EXPECT_EQ(h.inner.lines[1], "b" + std::string(300, 'c'));
}

TEST(WebSocketSession, NonUtf8OutputGoesAsBinary) {
  Harness h;
  h.open();
  h.write(client_frame(0x1, "binary\nx\n"));
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].opcode, 0x2);
  EXPECT_EQ(fs[0].payload, "\xff\xfe\n");
  EXPECT_EQ(fs[1].opcode, 0x1);
}

TEST(WebSocketSession, ClientCloseIsEchoedThenTcpCloses) {
  Harness h;
  h.open();
  h.write(client_frame(0x8, close_payload(1001, "leaving")));
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].opcode, 0x8);
  EXPECT_EQ(fs[0].close_code(), 1001);
  EXPECT_TRUE(h.eof);
  EXPECT_EQ(h.inner.closes, 1);
}

TEST(WebSocketSession, InnerCloseSendsCloseAndWaitsForTheAnswer) {
  Harness h;
  h.open();
  h.write(client_frame(0x1, "hi\nclose\nignored\n"));
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].payload, "echo:hi\n");
  EXPECT_EQ(fs[1].opcode, 0x8);
  EXPECT_EQ(fs[1].close_code(), 1000);
  EXPECT_EQ(h.inner.lines, (std::vector<std::string>{"hi", "close"}));  // nothing after its close
  EXPECT_FALSE(h.eof);  // waiting for the client's close frame
  // Data in flight from the client is dropped, then its close ends it all.
  h.write(client_frame(0x1, "late\n") + client_frame(0x8, close_payload(1000)));
  EXPECT_TRUE(h.frames().empty());
  EXPECT_TRUE(h.eof);
  EXPECT_EQ(h.inner.lines.size(), 2u);
  EXPECT_EQ(h.inner.closes, 1);
}

TEST(WebSocketSession, ProtocolErrorsSendTheirCloseCode) {
  struct Case { std::string wire; uint16_t code; } cases[] = {
      {client_frame(0x1, "x\n", true, /*masked=*/false), 1002},
      {client_frame(0x1, "\xff\n"), 1007},
      {client_frame(0x2, std::string(2000, 'a')), 1009},
      {client_frame(0x1, "fail\n"), 1008},  // the inner session's on_data failed
  };
  for (const auto& c : cases) {
    WebSocketOptions o = Harness::stomp_options();
    o.max_message_bytes = 1000;
    Harness h(o);
    h.open();
    h.write(c.wire);
    auto fs = h.frames();
    ASSERT_EQ(fs.size(), 1u) << c.code;
    EXPECT_EQ(fs[0].opcode, 0x8);
    EXPECT_EQ(fs[0].close_code(), c.code);
    EXPECT_TRUE(h.eof) << c.code;
    EXPECT_EQ(h.inner.closes, 1);
  }
}

TEST(WebSocketSession, UnfinishedUnitIsBounded) {
  WebSocketOptions o = Harness::stomp_options();
  o.max_pending_bytes = 100;
  Harness h(o);
  h.open();
  h.write(client_frame(0x1, std::string(60, 'a')));
  EXPECT_FALSE(h.eof);
  h.write(client_frame(0x1, std::string(60, 'a')));  // still no newline: 120 bytes pending
  auto fs = h.frames();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].close_code(), 1009);
  EXPECT_TRUE(h.eof);
}

TEST(WebSocketSession, PausedInnerSessionGetsNothingUntilResumed) {
  Harness h;
  h.open();
  h.write(client_frame(0x1, "pause\na\n") + client_frame(0x1, "b\n"));
  EXPECT_EQ(h.inner.lines, std::vector<std::string>{"pause"});
  ASSERT_NE(h.inner.transport, nullptr);
  EXPECT_TRUE(h.inner.transport->reading_paused());
  h.write(client_frame(0x1, "c\n"));
  EXPECT_EQ(h.inner.lines.size(), 1u);
  h.inner.transport->resume_reading();
  h.pump();
  EXPECT_EQ(h.inner.lines, (std::vector<std::string>{"pause", "a", "b", "c"}));
  EXPECT_EQ(payloads(h.frames()), (std::vector<std::string>{"echo:a\n", "echo:b\n", "echo:c\n"}));
}

TEST(WebSocketSession, BadUpgradeGetsHttpErrorAndClose) {
  Harness h;
  h.write(upgrade_request("/other"));
  EXPECT_EQ(h.received.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << h.received;
  EXPECT_TRUE(h.eof);
  EXPECT_EQ(h.inner.closes, 0);  // no inner session was built
}

TEST(WebSocketSession, HandshakeTimeoutDisconnects) {
  WebSocketOptions o = Harness::stomp_options();
  o.handshake_timeout = std::chrono::milliseconds(1);
  Harness h(o);
  h.write("GET /ws HTTP/1.1\r\n");
  for (int i = 0; i < 1000 && !h.eof; ++i) {
    h.io.restart();
    h.io.run_for(std::chrono::milliseconds(5));
    h.read_available();
  }
  EXPECT_TRUE(h.eof);
  EXPECT_TRUE(h.received.empty());
}

TEST(WebSocketSession, TransportOutlivingTheSessionIsHarmless) {
  // An inner session shared with asynchronous work (net::SharedSession) may
  // call its transport after the connection and the WebSocketSession are gone.
  Harness h;
  h.keep_inner = true;
  h.open();
  ASSERT_NE(h.kept, nullptr);
  h.write(client_frame(0x8, close_payload(1000)));
  ASSERT_TRUE(h.eof);
  ASSERT_EQ(h.frames().size(), 1u);  // the close echo
  h.pump();
  ASSERT_TRUE(h.conn.expired());  // connection and WebSocketSession destroyed
  Transport* t = h.inner.transport;
  EXPECT_TRUE(t->reading_paused());
  OutBuffer out;
  out.append("late", 4);
  t->send(std::move(out));
  t->pause_reading();
  t->resume_reading();
  t->close();
  h.pump();
  EXPECT_TRUE(h.received.empty());
  EXPECT_EQ(h.inner.closes, 1);
}

}  // namespace
}  // namespace wharf::net::websocket
