// Listener: accepts TCP connections on one thread and hands each accepted
// socket to a shard chosen by the caller (round robin), where the Connection
// lives for the rest of its life. One acceptor (no SO_REUSEPORT) means a second
// process cannot silently share the port.
//
// Thread rules: all methods on the io_context's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "base/result.h"
#include "net/connection.h"

namespace wharf::net {

// Parses "HOST:PORT" ("0.0.0.0:9092", "[::1]:9092", "localhost:9092").
// 0.0.0.0 is widened to a dual-stack [::] socket so that clients resolving
// "localhost" to ::1 or 127.0.0.1 both connect.
result<asio::ip::tcp::endpoint> parse_endpoint(const std::string& host_port);

// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.0.0.1, which
// is how a dual-stack listener sees IPv4 clients). `peer` is "ADDR:PORT" as in
// Connection::peer(); anything unparsable is not loopback. Users such as
// guest may log in only from there, whatever the protocol.
bool is_loopback_peer(std::string_view peer);

class Listener {
 public:
  // Receives each accepted socket's fd; it owns the fd from then on.
  using Dispatch = std::function<void(int fd, asio::ip::tcp protocol)>;

  Listener(asio::io_context& io, Dispatch dispatch);

  // Binds and starts accepting. Errors (address in use, ...) come back here.
  status listen(const asio::ip::tcp::endpoint& ep);
  void stop();
  uint16_t port() const { return port_; }

 private:
  void do_accept();

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  Dispatch dispatch_;
  uint16_t port_ = 0;
};

using SessionFactory = std::function<std::unique_ptr<Session>(const std::shared_ptr<Connection>&)>;

// Wraps an accepted fd in a Connection on `io` (call on io's thread) and
// starts it with the session made by `factory`.
void adopt_socket(asio::io_context& io, int fd, asio::ip::tcp protocol, ConnectionLimits limits,
                  const SessionFactory& factory);

}  // namespace wharf::net
