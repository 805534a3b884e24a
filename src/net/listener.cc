#include "net/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include "base/logging.h"

namespace wharf::net {

result<asio::ip::tcp::endpoint> parse_endpoint(const std::string& hp) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) return make_error(Errc::kInvalidArgument, "expected HOST:PORT, got '" + hp + "'");
  std::string host = hp.substr(0, colon);
  std::string port_s = hp.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try { port = std::stoi(port_s); } catch (...) { port = -1; }
  if (port < 0 || port > 65535) return make_error(Errc::kInvalidArgument, "bad port in '" + hp + "'");
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "*")
    return asio::ip::tcp::endpoint(asio::ip::address_v6::any(), uint16_t(port));
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return asio::ip::tcp::endpoint(addr, uint16_t(port));
  asio::io_context io;
  asio::ip::tcp::resolver res(io);
  auto it = res.resolve(host, port_s, ec);
  if (ec || it.empty()) return make_error(Errc::kInvalidArgument, "cannot resolve '" + host + "'");
  return it.begin()->endpoint();
}

Listener::Listener(asio::io_context& io, Dispatch dispatch)
    : io_(io), acceptor_(io), dispatch_(std::move(dispatch)) {}

void adopt_socket(asio::io_context& io, int fd, asio::ip::tcp protocol, ConnectionLimits limits,
                  const SessionFactory& factory) {
  asio::error_code ec;
  asio::ip::tcp::socket sock(io);
  sock.assign(protocol, fd, ec);
  if (ec) { ::close(fd); return; }
  auto conn = std::make_shared<Connection>(std::move(sock), limits);
  conn->set_session(factory(conn));
  conn->start();
}

status Listener::listen(const asio::ip::tcp::endpoint& ep) {
  asio::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (ec) return make_error(Errc::kIo, "socket: " + ec.message());
  if (ep.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(ep, ec);
  if (ec) return make_error(Errc::kIo, "bind " + ep.address().to_string() + ":" + std::to_string(ep.port()) + ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::kIo, "listen: " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  do_accept();
  return {};
}

void Listener::stop() {
  asio::error_code ec;
  acceptor_.close(ec);
}

void Listener::do_accept() {
  acceptor_.async_accept(io_, [this](const asio::error_code& ec, asio::ip::tcp::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto proto = sock.local_endpoint().protocol();
      int fd = sock.release();
      dispatch_(fd, proto);
    } else {
      WLOG_WARN("net", "accept failed: {}", ec.message());
    }
    if (acceptor_.is_open()) do_accept();
  });
}

bool is_loopback_peer(std::string_view peer) {
  const auto colon = peer.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(peer.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  asio::error_code ec;
  const asio::ip::address a = asio::ip::make_address(host, ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return a.is_loopback();
}

}  // namespace wharf::net
