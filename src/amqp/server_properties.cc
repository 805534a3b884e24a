#include "amqp/server_properties.h"

#include <string>

#include "base/version.h"

namespace wharf::amqp {

FieldTable server_properties(std::string_view cluster_name) {
  FieldTable caps;
  for (const char* name : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
                           "connection.blocked", "consumer_priorities", "authentication_failure_close",
                           "per_consumer_qos", "direct_reply_to"}) {
    caps.set(name, true);
  }
  FieldTable t;
  t.set("capabilities", std::move(caps));
  t.set("cluster_name", std::string(cluster_name));
  t.set("copyright", "Copyright (c) the Wharf authors");
  t.set("information", "Wharf: one broker for Kafka, AMQP 0-9-1 and STOMP clients");
  t.set("platform", "Linux, C++20");
  t.set("product", "Wharf");
  t.set("version", kWharfVersion);
  return t;
}

}  // namespace wharf::amqp
