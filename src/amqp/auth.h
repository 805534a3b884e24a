// Authentication and virtual-host access for AMQP connections.
//
// The connection decodes the SASL response of connection.start-ok (sasl.h)
// into Credentials and asks an AmqpAuth whether they are good, then, at
// connection.open, whether the authenticated principal may use the vhost. The
// broker uses RegistryAuth (registry_auth.h: the users and vhosts of
// broker::routing::Registry); DefaultAuth, a fixed guest/guest on "/", serves
// tests that need no registry.
//
// Thread rules: one AmqpAuth is shared by every connection of the listener,
// and its methods are called on the connection's shard thread, so several
// shards call it at once: implementations must be thread-safe (DefaultAuth is
// immutable). Calls must not block (no disk, no network).
#pragma once

#include "net/listener.h"

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace wharf::amqp {

// What the client claimed, in the clear (PLAIN and AMQPLAIN both send the
// password itself).
struct Credentials {
  std::string mechanism;  // "PLAIN", "AMQPLAIN"; for logs
  std::string user;
  std::string password;
};

// Who the connection is, once authenticated.
struct Principal {
  std::string user;
};

class AmqpAuth {
 public:
  virtual ~AmqpAuth() = default;

  // Checks the credentials. An error refuses the login: the client gets
  // connection.close 403 ACCESS_REFUSED with a fixed text that does not say
  // why (as RabbitMQ, so user names cannot be probed); the error's message is
  // logged. `client_is_loopback`: the peer address is 127.0.0.0/8 or ::1, for
  // users restricted to local connections (guest).
  virtual result<Principal> authenticate(const Credentials& c, bool client_is_loopback) const = 0;

  // May `p` open `vhost`? An error refuses it with connection.close 530
  // NOT_ALLOWED; its message is the reply text ("vhost 'x' not found").
  virtual status can_access_vhost(const Principal& p, std::string_view vhost) const = 0;
};

// RabbitMQ's out-of-the-box setup: one user guest/guest that may connect from
// loopback addresses only, and one vhost "/".
class DefaultAuth final : public AmqpAuth {
 public:
  result<Principal> authenticate(const Credentials& c, bool client_is_loopback) const override;
  status can_access_vhost(const Principal& p, std::string_view vhost) const override;
};

// net::is_loopback_peer (net/listener.h), shared by every front end.
using net::is_loopback_peer;

}  // namespace wharf::amqp
