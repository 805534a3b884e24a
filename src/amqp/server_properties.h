// The server-properties table of connection.start: who we are, and the
// RabbitMQ extensions we speak. Clients switch features on from the
// capabilities table (pika, amqplib and the Java client check
// publisher_confirms, basic.nack, consumer_cancel_notify, connection.blocked
// and authentication_failure_close before using them).
#pragma once

#include <string_view>

#include "amqp/protocol/field_table.h"

namespace wharf::amqp {

// product "Wharf", version, platform, cluster_name, copyright, information,
// and capabilities: publisher_confirms, exchange_exchange_bindings,
// basic.nack, consumer_cancel_notify, connection.blocked,
// consumer_priorities, authentication_failure_close, per_consumer_qos,
// direct_reply_to, all true.
FieldTable server_properties(std::string_view cluster_name);

}  // namespace wharf::amqp
