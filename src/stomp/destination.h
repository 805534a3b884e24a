// STOMP destinations and the AMQP entities they stand for. STOMP and AMQP
// clients share one model (exchanges, bindings, queues), so a message sent
// with one protocol can be consumed with the other.
//
//   /queue/NAME          queue NAME, created (durable) on first use; SEND
//                        goes through the default exchange (key NAME).
//                        Queues named Consumer.<group>.VirtualTopic.<X> are
//                        also bound to amq.topic with key VirtualTopic.<X>
//                        (ActiveMQ's virtual topics).
//   /topic/NAME          SEND: exchange amq.topic, key NAME. SUBSCRIBE: a
//                        queue of the subscription bound to amq.topic with
//                        pattern NAME (ActiveMQ's '>' is AMQP's '#').
//   /temp-queue/NAME     a queue private to the connection, deleted when it
//                        closes; a reply-to naming one is rewritten to
//                        /amq/queue/<its real name> for the receiver.
//   /exchange/X[/KEY]    SEND: exchange X with key KEY. SUBSCRIBE: a queue of
//                        the subscription bound to X with KEY (RabbitMQ).
//   /amq/queue/Q         existing queue Q, never created (RabbitMQ).
//
// Names are taken verbatim (STOMP header escaping is already undone); an
// empty name, or a name over 255 bytes, is refused.
//
// Thread rules: plain values.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace wharf::stomp {

enum class DestKind : uint8_t { kQueue, kTopic, kTempQueue, kExchange, kAmqQueue };

struct Destination {
  DestKind kind = DestKind::kQueue;
  std::string name;      // queue name (kQueue, kAmqQueue), topic key (kTopic), temp name, or exchange (kExchange)
  std::string key;       // kExchange: routing key / binding pattern (may be empty)

  // The exchange and routing key a SEND publishes with. kTempQueue has none
  // here: the session resolves it to its real queue name.
  std::string send_exchange() const;
  std::string send_key() const;
};

// kInvalidArgument with a message naming the destination.
result<Destination> parse_destination(std::string_view text);

// ActiveMQ's topic wildcards in AMQP topic syntax: "a.>" -> "a.#".
std::string amqp_topic_pattern(std::string_view name);

// The STOMP destination a message published to (exchange, key) is shown
// with on MESSAGE frames.
std::string destination_of(std::string_view exchange, std::string_view routing_key);

}  // namespace wharf::stomp
