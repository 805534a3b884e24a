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

}  // namespace wharf::amqp
