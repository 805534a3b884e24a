// wharf_ws_tcp_bridge: Wharf's WebSocket server (src/net/websocket) in front
// of any plain-TCP STOMP broker. Each WebSocket connection's message bytes go
// to a fresh TCP connection to the upstream and the upstream's bytes come
// back as WebSocket messages (one per read, so STOMP frames are cut at
// arbitrary places, which clients must and do handle).
//
// Why: it lets the browser tests (tests/e2e/js/stomp_websocket.test.js) run
// through Wharf's WebSocket code against a real STOMP broker (RabbitMQ,
// ActiveMQ) before, or independently of, Wharf's own STOMP session:
//
//   build/tests/e2e/ws_bridge/wharf_ws_tcp_bridge 127.0.0.1:61613
//   -> prints "websocket bridge listening on 127.0.0.1:PORT (port PORT)"
//   WHARF_E2E_STOMP_WS_URL=ws://127.0.0.1:PORT/ws WHARF_E2E_STOMP_TCP=127.0.0.1:61613
//   WHARF_E2E_STOMP_BINARY=1 node --test stomp_websocket.test.js   (in tests/e2e/js, one command line)
//
// Usage: wharf_ws_tcp_bridge UPSTREAM_HOST:PORT [LISTEN_HOST:PORT (default 127.0.0.1:0)]
// One thread; runs until killed. A test tool, not part of the broker.
#include <cstdio>
#include <deque>
#include <memory>
#include <string>

#include <asio.hpp>

#include "net/listener.h"
#include "net/websocket/session.h"

using namespace wharf;
using namespace wharf::net;

namespace {

// The inner session: a byte pipe to the upstream broker. Reading from the
// client is paused until the upstream connection is up.
class Pipe final : public Session, public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(asio::io_context& io, std::unique_ptr<Transport> t) : t_(std::move(t)), up_(io) {}

  void start(const asio::ip::tcp::endpoint& upstream) {
    t_->pause_reading();
    up_.async_connect(upstream, [self = shared_from_this()](const asio::error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        std::fprintf(stderr, "upstream connect failed: %s\n", ec.message().c_str());
        self->t_->close();
        return;
      }
      self->connected_ = true;
      self->read();
      self->t_->resume_reading();
    });
  }

  result<size_t> on_data(const Block&, std::span<uint8_t> data, size_t*) override {
    if (!connected_) return size_t(0);
    out_.emplace_back(data.begin(), data.end());
    if (out_.size() == 1) write();
    return data.size();
  }

  void on_close() override {
    closed_ = true;
    asio::error_code ec;
    up_.close(ec);
  }

 private:
  void read() {
    up_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](const asio::error_code& ec, size_t n) {
      if (self->closed_) return;
      if (ec) {
        self->t_->close();  // upstream gone: close the WebSocket (1000)
        return;
      }
      OutBuffer out;
      out.append(self->buf_, n);
      self->t_->send(std::move(out));
      self->read();
    });
  }

  void write() {
    asio::async_write(up_, asio::buffer(out_.front()), [self = shared_from_this()](const asio::error_code& ec, size_t) {
      if (self->closed_) return;
      if (ec) { self->t_->close(); return; }
      self->out_.pop_front();
      if (!self->out_.empty()) self->write();
    });
  }

  std::unique_ptr<Transport> t_;
  asio::ip::tcp::socket up_;
  uint8_t buf_[16 * 1024];
  std::deque<std::vector<uint8_t>> out_;
  bool connected_ = false, closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s UPSTREAM_HOST:PORT [LISTEN_HOST:PORT]\n", argv[0]);
    return 2;
  }
  auto upstream = parse_endpoint(argv[1]);
  auto listen = parse_endpoint(argc > 2 ? argv[2] : "127.0.0.1:0");
  if (!upstream.ok() || !listen.ok()) {
    std::fprintf(stderr, "bad address\n");
    return 2;
  }
  asio::io_context io;
  websocket::WebSocketOptions opts;
  opts.handshake.subprotocols = {"v12.stomp", "v11.stomp", "v10.stomp"};
  const auto up = *upstream;
  SessionFactory factory = [&io, opts, up](const std::shared_ptr<Connection>& c) {
    return websocket::make_websocket_session(c, opts, [&io, up](std::unique_ptr<Transport> t, const websocket::UpgradeRequest&) {
      auto pipe = std::make_shared<Pipe>(io, std::move(t));
      pipe->start(up);
      return std::make_unique<SharedSession>(std::move(pipe));
    });
  };
  Listener listener(io, [&io, &factory](int fd, asio::ip::tcp protocol) {
    adopt_socket(io, fd, protocol, ConnectionLimits{}, factory);
  });
  if (auto st = listener.listen(*listen); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  std::printf("websocket bridge listening on %s:%u (port %u)\n", listen->address().to_string().c_str(),
              unsigned(listener.port()), unsigned(listener.port()));
  std::fflush(stdout);
  io.run();
  return 0;
}
