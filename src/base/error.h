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
  kUnsupported,
  kResourceLocked,      // held exclusively by someone else (exclusive consumer, exclusive queue)
  kPreconditionFailed,  // a stated condition does not hold (delete if-unused / if-empty)
};

std::string_view errc_name(Errc c);

}  // namespace wharf
