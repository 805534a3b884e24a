// Stream bridge: protocol-neutral messages (queue::Message) into Kafka
// topics, for AMQP streams (x-queue-type: stream is a topic of the same
// name) and exchanges bound to a Kafka topic.
//
// A message becomes one record in the same form queues store it
// (queue/message_codec.h): key = routing key, value = body, properties and
// headers as record headers, so Kafka consumers read the body and headers,
// and AMQP consumers of the stream get the message back whole.
//
// Partition: a topic with one partition gets everything; otherwise the
// routing key's hash picks one (an empty key round robin), so one key keeps
// its order as Kafka producers' keys do.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "broker/queue/message.h"

namespace wharf::broker {

class Broker;

// Appends `m` to `topic`. `done` (may be null) runs on the calling shard once
// the record is stored: after its fsync when the message is persistent
// (delivery_mode 2), else once appended. kNotFound when the topic does not
// exist. REQUIRES: called on a shard thread.
void append_to_topic(Broker& b, const std::string& topic, std::shared_ptr<const queue::Message> m,
                     std::function<void(status)> done);

}  // namespace wharf::broker
