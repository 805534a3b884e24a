// The protocol header a client sends first: "AMQP" 0 0 9 1.
//
// Spec 4.2.2: a server that does not support the requested protocol writes
// the header of the protocol it does support and closes the socket. There is
// no connection yet, so no connection.close is sent. Wharf supports exactly
// 0-9-1; anything else (0-8, 0-9, AMQP 1.0, HTTP, TLS hello...) gets
// kProtocolHeader back, then the socket is closed.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "amqp/protocol/generated/constants.h"

namespace wharf::amqp {

inline constexpr std::array<uint8_t, 8> kProtocolHeader = {
    'A', 'M', 'Q', 'P', 0, kVersionMajor, kVersionMinor, kVersionRevision};

enum class HeaderCheck : uint8_t {
  kNeedMore,  // fewer than 8 bytes so far, and they match the header's start
  kOk,        // the first 8 bytes are kProtocolHeader; consume them
  kMismatch,  // answer kProtocolHeader and close
};

// Looks only at data[0..8); a mismatch is reported as soon as one byte
// differs, so a client sending something else is answered without waiting.
HeaderCheck check_protocol_header(std::span<const uint8_t> data);

}  // namespace wharf::amqp
