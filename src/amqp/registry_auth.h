// RegistryAuth: the AmqpAuth backed by the broker's user and vhost registry
// (broker/routing/registry.h), so the users, passwords, tags, loopback
// restrictions and permissions stored in <data_dir>/meta/routing.* decide
// who may log in and open which vhost.
//
//   authenticate      Registry::authenticate (salted SHA-256 check), then the
//                     user's loopback_only flag against the peer address:
//                     guest, created loopback-only on first start, cannot
//                     log in from another host (RabbitMQ's loopback_users).
//   can_access_vhost  Registry::check_vhost_access: the vhost must exist and
//                     the user must have a permissions entry on it (any
//                     expressions, even empty ones, as RabbitMQ); else 530.
//
// The refusal reasons go to the broker log only (connection.cc); the client
// is told just ACCESS_REFUSED or the 530 text.
//
// Thread rules: the Registry's readers take only the calling shard's slot,
// so this is safe and cheap on every shard at once. `registry` must outlive
// this object (the Broker owns it and outlives the AMQP server).
#pragma once

#include "amqp/auth.h"

namespace wharf::broker::routing {
class Registry;
}

namespace wharf::amqp {

class RegistryAuth final : public AmqpAuth {
 public:
  explicit RegistryAuth(const broker::routing::Registry& registry) : registry_(registry) {}

  result<Principal> authenticate(const Credentials& c, bool client_is_loopback) const override;
  status can_access_vhost(const Principal& p, std::string_view vhost) const override;

 private:
  const broker::routing::Registry& registry_;
};

}  // namespace wharf::amqp
