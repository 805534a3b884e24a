// Connection over a real loopback socket: backpressure must not end the
// connection. A session that pauses reading holds only a weak reference, so
// the connection has to keep itself alive until the session resumes it.
#include "net/connection.h"

#include <chrono>
#include <memory>
#include <string>

#include <asio.hpp>
#include <gtest/gtest.h>

#include "net/listener.h"

namespace wharf::net {
namespace {

using namespace std::chrono_literals;

// Treats every byte as a request. The first one pauses reading and is
// answered ("A") only after a delay, like a Kafka request waiting for fsync
// while the in-flight limit is reached; later bytes are echoed.
class PausingSession : public Session {
 public:
  PausingSession(asio::io_context& io, std::weak_ptr<Connection> conn) : timer_(io), conn_(std::move(conn)) {}

  result<size_t> on_data(const Block&, std::span<uint8_t> data, size_t*) override {
    auto c = conn_.lock();
    if (!c) return size_t(0);
    if (!paused_once_) {
      paused_once_ = true;
      c->pause_reading();
      timer_.expires_after(50ms);
      timer_.async_wait([weak = conn_](const asio::error_code& ec) {
        if (ec) return;
        if (auto c = weak.lock()) {
          send(*c, "A");
          c->resume_reading();
        }
      });
      return size_t(1);
    }
    send(*c, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
    return data.size();
  }
  void on_close() override {}

 private:
  static void send(Connection& c, const std::string& s) {
    OutBuffer out;
    out.append(s.data(), s.size());
    c.send(std::move(out));
  }
  asio::steady_timer timer_;
  std::weak_ptr<Connection> conn_;
  bool paused_once_ = false;
};

TEST(ConnectionTest, PausedConnectionStaysOpenUntilTheSessionResumes) {
  asio::io_context io;
  Listener listener(io, [&io](int fd, asio::ip::tcp proto) {
    adopt_socket(io, fd, proto, ConnectionLimits{}, [&io](const std::shared_ptr<Connection>& c) {
      return std::make_unique<PausingSession>(io, c);
    });
  });
  ASSERT_TRUE(listener.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());

  asio::ip::tcp::socket client(io);
  client.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener.port()));
  // "1" pauses the session; "23" waits in the socket until it resumes.
  asio::write(client, asio::buffer(std::string("123")));

  std::string got;
  char buf[16];
  asio::error_code read_ec;
  std::function<void()> read_more = [&] {
    client.async_read_some(asio::buffer(buf), [&](const asio::error_code& ec, size_t n) {
      got.append(buf, n);
      if (ec) { read_ec = ec; io.stop(); return; }
      if (got.size() < 3) read_more();
      else io.stop();
    });
  };
  read_more();
  io.run_for(5s);  // stopped early once the answer is complete or the socket closes

  EXPECT_FALSE(read_ec) << "connection closed while paused: " << read_ec.message();
  EXPECT_EQ(got, "A23");
}

}  // namespace
}  // namespace wharf::net
