#include "amqp/registry_auth.h"

#include "broker/routing/registry.h"

namespace wharf::amqp {

result<Principal> RegistryAuth::authenticate(const Credentials& c, bool client_is_loopback) const {
  auto user = registry_.authenticate(c.user, c.password);
  if (!user.ok()) return user.error();
  // Checked after the password, so a wrong password never reveals that the
  // user is restricted to loopback.
  if (user->loopback_only && !client_is_loopback) {
    return make_error(Errc::kAccessRefused, "user '" + c.user + "' can only connect via localhost");
  }
  return Principal{user->name};
}

status RegistryAuth::can_access_vhost(const Principal& p, std::string_view vhost) const {
  return registry_.check_vhost_access(p.user, vhost);
}

}  // namespace wharf::amqp
