// The AMQP connection on a real net::Connection (a socketpair stands in for
// TCP): bytes in and out, the asio timer behind handshake timeouts, and that
// closing frees the session exactly when the socket is done with it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "amqp/connection.h"
#include "amqp/transport.h"
#include "amqp/not_implemented_handler.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "amqp/protocol/protocol_header.h"
#include "net/connection.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::Bytes;

struct SocketPair {
  asio::io_context io;
  int peer = -1;
  std::weak_ptr<net::Connection> net_conn;
  std::weak_ptr<Connection> amqp_conn;

  explicit SocketPair(AmqpConfig cfg = {}) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer = fds[1];
    asio::ip::tcp::socket s(io);
    asio::error_code ec;
    s.assign(asio::ip::tcp::v4(), fds[0], ec);
    EXPECT_FALSE(ec);
    auto env = std::make_shared<ConnectionEnv>();
    env->config = cfg;
    env->auth = std::make_shared<DefaultAuth>();
    env->handler_factory = not_implemented_handler_factory();
    auto c = std::make_shared<net::Connection>(std::move(s), net::ConnectionLimits{});
    auto a = std::make_shared<Connection>(std::make_unique<NetTransport>(c), env, "127.0.0.1:1", true);
    amqp_conn = a;
    c->set_session(std::make_unique<net::SharedSession>(std::move(a)));
    c->start();
    net_conn = c;
  }
  ~SocketPair() { ::close(peer); }

  void write(const Bytes& b) { ASSERT_EQ(::write(peer, b.data(), b.size()), ssize_t(b.size())); }
  void run_for(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  // Everything the broker sent so far; `eof` tells whether it closed.
  Bytes read_all(bool* eof) {
    Bytes got;
    *eof = false;
    uint8_t buf[4096];
    for (;;) {
      ssize_t n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) { got.insert(got.end(), buf, buf + n); continue; }
      *eof = n == 0;
      return got;
    }
  }
};

std::vector<msg::AnyMethod> methods(Bytes& bytes) {
  std::vector<msg::AnyMethod> out;
  FrameParser p(1 << 20);
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto f = p.parse(std::span<uint8_t>(bytes.data() + pos, bytes.size() - pos));
    if (f.status != FrameParse::kFrame) break;
    if (f.frame.type == FrameType::Method) {
      auto m = msg::decode_method_payload(f.frame.payload);
      EXPECT_TRUE(m.ok());
      if (m.ok()) out.push_back(*m);
    }
    pos += f.size;
  }
  return out;
}

template <class M>
Bytes frame(uint16_t ch, const M& m) {
  OutBuffer o;
  EXPECT_TRUE(write_method_frame(o, ch, m, 1 << 20).ok());
  return o.to_bytes();
}

TEST(NetTransport, HandshakeCloseAndRelease) {
  SocketPair sp;
  msg::ConnectionStartOk ok;
  ok.response = std::string("\0guest\0guest", 12);
  sp.write(test::cat({Bytes(kProtocolHeader.begin(), kProtocolHeader.end()), frame(0, ok),
                      frame(0, msg::ConnectionTuneOk{0, 0, 0}), frame(0, msg::ConnectionOpen{}),
                      frame(0, msg::ConnectionClose{200, "bye", 0, 0})}));
  sp.run_for(std::chrono::milliseconds(50));
  bool eof = false;
  Bytes out = sp.read_all(&eof);
  auto ms = methods(out);
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_TRUE(std::holds_alternative<msg::ConnectionStart>(ms[0]));
  EXPECT_TRUE(std::holds_alternative<msg::ConnectionTune>(ms[1]));
  EXPECT_TRUE(std::holds_alternative<msg::ConnectionOpenOk>(ms[2]));
  EXPECT_TRUE(std::holds_alternative<msg::ConnectionCloseOk>(ms[3]));
  EXPECT_TRUE(eof);
  // Nothing outside holds the connection: both objects are gone.
  EXPECT_TRUE(sp.net_conn.expired());
  EXPECT_TRUE(sp.amqp_conn.expired());
}

TEST(NetTransport, HandshakeTimeoutFiresOnTheRealTimer) {
  AmqpConfig cfg;
  cfg.handshake_timeout_ms = 30;
  SocketPair sp(cfg);
  sp.write(Bytes(kProtocolHeader.begin(), kProtocolHeader.end()));
  sp.run_for(std::chrono::milliseconds(200));
  bool eof = false;
  Bytes out = sp.read_all(&eof);
  ASSERT_EQ(methods(out).size(), 1u);  // connection.start, then nothing
  EXPECT_TRUE(eof);
  EXPECT_TRUE(sp.amqp_conn.expired());
}

TEST(NetTransport, HeartbeatsFlowOnTheRealTimer) {
  SocketPair sp;
  msg::ConnectionStartOk ok;
  ok.response = std::string("\0guest\0guest", 12);
  sp.write(test::cat({Bytes(kProtocolHeader.begin(), kProtocolHeader.end()), frame(0, ok),
                      frame(0, msg::ConnectionTuneOk{0, 0, 1}), frame(0, msg::ConnectionOpen{})}));
  sp.run_for(std::chrono::milliseconds(50));
  bool eof = false;
  sp.read_all(&eof);
  // Over 1.6 s with a 1 s interval: we hear heartbeats (8 bytes each), and
  // our own client heartbeat keeps the connection open.
  Bytes hb;
  {
    OutBuffer o;
    write_heartbeat_frame(o);
    hb = o.to_bytes();
  }
  sp.write(hb);
  sp.run_for(std::chrono::milliseconds(800));
  sp.write(hb);
  sp.run_for(std::chrono::milliseconds(800));
  Bytes out = sp.read_all(&eof);
  EXPECT_FALSE(eof);
  EXPECT_GE(out.size(), 8u);
  EXPECT_EQ(out.size() % 8, 0u);
  for (size_t i = 0; i < out.size(); i += 8) EXPECT_EQ(out[i], uint8_t(FrameType::Heartbeat));
  EXPECT_FALSE(sp.amqp_conn.expired());
  sp.net_conn.lock()->close();
}

}  // namespace
}  // namespace wharf::amqp
