// STOMP frames <-> protocol-neutral queued messages (broker/queue/message.h).
// docs/stomp-protocol.md has the table; in short, as RabbitMQ's STOMP
// adapter and ActiveMQ's STOMP transport do it:
//
//   STOMP header       queue::Message                 AMQP           Kafka record header
//   content-type       props.content_type             content-type   wharf.content-type
//   content-encoding   props.content_encoding         content-encoding
//   persistent:true    props.delivery_mode = 2        delivery-mode  wharf.delivery-mode
//   priority (0-9)     props.priority (default 4)     priority
//   expires (epoch ms) props.expiration_ms (relative) expiration
//   correlation-id     props.correlation_id           correlation-id
//   reply-to           props.reply_to                 reply-to
//   type               props.type                     type
//   amqp-message-id    props.message_id               message-id
//   app-id / user-id   props.app_id / user_id         app-id / user-id
//   anything else      headers[name] (string)         headers table  record header
// (Kafka: every property becomes a wharf.<AMQP name> record header, as
// docs/amqp-streams.md says; application headers keep their names.)
//
// Not kept: destination, transaction, receipt, content-length and the
// server's own MESSAGE headers (message-id, subscription, ack, redelivered).
// AMQ_SCHEDULED_* headers are taken by the session (scheduled delivery).
//
// MESSAGE frames carry subscription, message-id, destination, ack (1.2,
// client acks), the mapped properties, timestamp (ms the queue accepted the
// message), expires (0 when none), priority, redelivered and
// JMSXDeliveryCount, for a dead-lettered message original-destination and
// x-first-death-queue / -reason, then the application headers rendered as
// text (tables and lists, such as x-death, are left out).
//
// Thread rules: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/out_buffer.h"
#include "base/result.h"
#include "broker/queue/consumer.h"
#include "broker/queue/message.h"
#include "stomp/protocol/frame.h"

namespace wharf::stomp {

inline constexpr uint8_t kDefaultPriority = 4;  // JMS's default priority
inline constexpr uint8_t kMaxPriority = 9;      // JMS priorities are 0-9

// The message a SEND carries (exchange and key are the caller's). `now_ms`
// turns an absolute `expires` into a TTL; an expires in the past gives a TTL
// of 0 (the queue drops it at once, dead-lettering it). kInvalidArgument for
// a malformed priority, expires or persistent header.
result<broker::queue::Message> message_of(Frame&& send, std::string exchange, std::string routing_key,
                                          int64_t now_ms);

// What goes on a MESSAGE frame besides the message itself.
struct MessageMeta {
  std::string_view subscription;
  std::string_view message_id;
  std::string_view ack;          // empty: no ack header
  std::string_view destination;
};

// Appends the MESSAGE frame for delivery `d` to `out`.
void append_message_frame(const broker::queue::Delivery& d, const MessageMeta& meta, Version v, OutBuffer& out);

}  // namespace wharf::stomp
