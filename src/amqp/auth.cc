#include "amqp/auth.h"

#include <asio/ip/address.hpp>

namespace wharf::amqp {

result<Principal> DefaultAuth::authenticate(const Credentials& c, bool client_is_loopback) const {
  if (c.user != "guest" || c.password != "guest") {
    return make_error(Errc::kInvalidArgument, "user '" + c.user + "': invalid credentials");
  }
  if (!client_is_loopback) {
    return make_error(Errc::kInvalidArgument, "user 'guest' can only connect via localhost");
  }
  return Principal{c.user};
}

status DefaultAuth::can_access_vhost(const Principal& p, std::string_view vhost) const {
  if (vhost != "/") return make_error(Errc::kNotFound, "vhost '" + std::string(vhost) + "' not found");
  return {};
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

}  // namespace wharf::amqp
