// Connection life cycle under backpressure: a session that stops reading
// (too many requests in flight) must not lose its connection.
#include "net/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace wharf::net {
namespace {

// Consumes everything; pauses reading after the first bytes until told.
class PausingSession : public Session {
 public:
  explicit PausingSession(std::weak_ptr<Connection> c, std::string* got, bool* closed)
      : conn_(std::move(c)), got_(got), closed_(closed) {}
  result<size_t> on_data(const Block&, std::span<uint8_t> data, size_t*) override {
    got_->append(data.begin(), data.end());
    if (auto c = conn_.lock()) c->pause_reading();
    return data.size();
  }
  void on_close() override { *closed_ = true; }

 private:
  std::weak_ptr<Connection> conn_;
  std::string* got_;
  bool* closed_;
};

struct Pair {
  asio::io_context io;
  int peer = -1;
  std::weak_ptr<Connection> conn;
  std::string got;
  bool closed = false;

  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer = fds[1];
    // A Unix socket stands in for TCP: Connection only needs a stream fd.
    asio::ip::tcp::socket s(io);
    asio::error_code ec;
    s.assign(asio::ip::tcp::v4(), fds[0], ec);
    EXPECT_FALSE(ec);
    auto c = std::make_shared<Connection>(std::move(s), ConnectionLimits{});
    c->set_session(std::make_unique<PausingSession>(c, &got, &closed));
    c->start();
    conn = c;  // only the connection itself and its operations own it now
  }
  ~Pair() { ::close(peer); }
  void write(const std::string& s) { ASSERT_EQ(::write(peer, s.data(), s.size()), ssize_t(s.size())); }
  void pump() {
    io.restart();
    io.poll();
  }
  bool peer_saw_eof() {
    char b;
    return ::recv(peer, &b, 1, MSG_DONTWAIT) == 0;
  }
};

TEST(Connection, PausedConnectionStaysOpenWithoutOutsideOwners) {
  Pair p;
  p.write("first");
  p.pump();
  EXPECT_EQ(p.got, "first");
  // Paused and with no pending read: still alive and open.
  ASSERT_FALSE(p.conn.expired());
  EXPECT_FALSE(p.closed);
  EXPECT_FALSE(p.peer_saw_eof());

  p.write("second");
  p.pump();
  EXPECT_EQ(p.got, "first");  // paused: not read yet
  p.conn.lock()->resume_reading();
  p.pump();
  EXPECT_EQ(p.got, "firstsecond");
  EXPECT_FALSE(p.closed);
}

TEST(Connection, ClosingAPausedConnectionReleasesIt) {
  Pair p;
  p.write("x");
  p.pump();
  ASSERT_FALSE(p.conn.expired());
  p.conn.lock()->close();
  p.pump();
  EXPECT_TRUE(p.closed);
  EXPECT_TRUE(p.conn.expired());
  EXPECT_TRUE(p.peer_saw_eof());
}

TEST(Connection, PeerCloseReleasesAnActiveConnection) {
  Pair p;
  p.conn.lock()->resume_reading();
  ::shutdown(p.peer, SHUT_WR);
  p.pump();
  EXPECT_TRUE(p.closed);
  EXPECT_TRUE(p.conn.expired());
}

}  // namespace
}  // namespace wharf::net
