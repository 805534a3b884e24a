// ActiveMQ's virtual topics on the routing registry: a queue named
// Consumer.<group>.VirtualTopic.<X> receives a copy of every message sent to
// topic VirtualTopic.<X> (exchange amq.topic, key VirtualTopic.<X>), so each
// consumer group load-balances its own copy. Every front end calls
// bind_virtual_topic() when it creates a queue, so a group queue declared
// over AMQP works for STOMP publishers and the reverse.
//
// Thread rules: Registry's (any shard).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace wharf::broker {

namespace routing {
class Registry;
}

// "VirtualTopic.<X>" for a queue named Consumer.<group>.VirtualTopic.<X>
// (group and X non-empty), else "".
std::string virtual_topic_of(std::string_view queue);

// Binds queue `name` to amq.topic with its virtual topic; nothing for other
// names.
status bind_virtual_topic(routing::Registry& registry, std::string_view vhost, std::string_view name);

}  // namespace wharf::broker
