// An AMQP message (basic properties + body) <-> the broker's protocol-neutral
// queue::Message.
//
// Properties map one to one (queue/message.h), except:
//   expiration   AMQP text of a non-negative decimal number of milliseconds;
//                anything else is refused (406, as RabbitMQ does)
//   headers      application headers; an incoming "x-death" becomes the
//                message's death history (so dead-lettering it again updates
//                it as RabbitMQ does) and the x-first-death-* / x-last-death-*
//                summaries are dropped: both are rendered anew on delivery
//   cluster-id   deprecated; not kept
#pragma once

#include <cstdint>
#include <vector>

#include "amqp/protocol/content_header.h"
#include "base/result.h"
#include "broker/queue/message.h"

namespace wharf::amqp {

// kPreconditionFailed for a bad expiration.
result<broker::queue::Message> message_of(std::string exchange, std::string routing_key,
                                          msg::BasicProperties&& props, std::vector<uint8_t>&& body);

// The properties to send with a delivery of `m` (x-death and the
// x-first-death-* headers rendered from its death history).
msg::BasicProperties properties_of(const broker::queue::Message& m);

}  // namespace wharf::amqp
