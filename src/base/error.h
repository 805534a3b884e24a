// Broker-wide error codes. Protocol front ends map these to their own codes
// (Kafka error codes, AMQP reply codes, STOMP ERROR frames).
#pragma once

#include <cstdint>
#include <string_view>

namespace wharf {

enum class Errc : uint16_t {
  kOk = 0,
  kUnknown,
  kIo,                  // a system call failed; message carries errno text
  kCorrupt,             // bytes on disk or wire failed a CRC or length check
  kInvalidArgument,     // caller passed something malformed
  kNotFound,            // topic, partition, group, file ...
  kAlreadyExists,
  kOffsetOutOfRange,
  kMessageTooLarge,
  kOutOfOrderSequence,  // idempotent producer sequence gap
  kDuplicateSequence,   // idempotent producer resent a batch we have
  kInvalidProducerEpoch,
  kUnknownProducerId,
  kNotCoordinator,
  kTimeout,
  kShuttingDown,
  kUnsupported,          // e.g. an unknown exchange type (AMQP 503 COMMAND_INVALID)
  // Entity-model errors (routing registry, queues). Front ends map them:
  // AMQP reply codes in parentheses; STOMP sends an ERROR frame.
  kAccessRefused,       // reserved name, default exchange, no permission (403)
  kResourceLocked,      // another connection's exclusive queue (405)
  kPreconditionFailed,  // inequivalent re-declare, bad argument, in use (406)
  kNotAllowed,          // vhost access refused or unknown vhost on open (530)
};

std::string_view errc_name(Errc c);

}  // namespace wharf
