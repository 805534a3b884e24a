// Settings of the AMQP 0-9-1 front end (keys `amqp.*` in src/app/config.cc).
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace wharf::amqp {

struct AmqpConfig {
  std::string listen = "0.0.0.0:5672";
  // Offered in connection.tune. The client's tune-ok may lower channel_max and
  // frame_max (0 there means "take the server's"); heartbeat is the client's
  // choice as in RabbitMQ (0 disables it).
  uint16_t heartbeat_s = 60;       // RabbitMQ's default
  uint32_t frame_max = 131072;     // RabbitMQ's default; >= 4096 (kFrameMinSize)
  uint16_t channel_max = 2047;     // RabbitMQ's default; highest usable channel id
  // Largest message body accepted (basic.publish content); larger closes the
  // channel with 406 PRECONDITION_FAILED before any body byte is buffered.
  // RabbitMQ 4's default max_message_size.
  uint64_t max_message_bytes = 16 << 20;
  // A client must finish the handshake (protocol header to connection.open-ok)
  // within this time, else the socket is closed (RabbitMQ's handshake_timeout).
  uint32_t handshake_timeout_ms = 10000;
};

// Rejects values no connection could work with (frame_max below 4096, ...).
status validate(const AmqpConfig& c);

}  // namespace wharf::amqp
