// WebSocket frames (RFC 6455 section 5): wire layout, opcodes, close codes
// and the encoder of server frames. Decoding client frames: frame_reader.h.
//
//   byte 0      FIN(1) RSV1 RSV2 RSV3(3) opcode(4)
//   byte 1      MASK(1) payload length(7): 0..125, 126 = 16-bit length follows,
//               127 = 64-bit length follows (most significant bit 0)
//   [2 or 8]    extended payload length, big endian
//   [4]         masking key, present iff MASK (every client frame, no server frame)
//   payload     client frames: byte i is XORed with key[i % 4]
//
// Control frames (close, ping, pong) carry at most 125 payload bytes and are
// never fragmented; they may arrive between the fragments of a message.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/out_buffer.h"

namespace wharf::net::websocket {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool is_control(Opcode op) { return (uint8_t(op) & 0x8) != 0; }
constexpr bool is_known_opcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kMaskBit = 0x80;
constexpr size_t kMaxControlPayload = 125;
constexpr size_t kMaxServerHeader = 10;  // unmasked: 2 + 8
constexpr size_t kMaxClientHeader = 14;  // masked: 2 + 8 + 4

// Close status codes (RFC 6455 section 7.4.1) that Wharf sends or checks.
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kNoStatus = 1005;        // never on the wire: a close frame without a code
constexpr uint16_t kInvalidPayload = 1007;  // text that is not UTF-8
constexpr uint16_t kPolicyViolation = 1008;
constexpr uint16_t kMessageTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// A code a peer may put in a close frame: 1000-1003, 1007-1014 and the
// registered/private ranges 3000-4999. 1004-1006 and 1015 are reserved
// (never sent), everything else is unassigned.
bool close_code_allowed_on_wire(uint16_t code);

// Writes a server frame header (FIN set unless `fin` is false, unmasked) to
// `out`, which has room for kMaxServerHeader bytes; returns its length.
size_t write_frame_header(uint8_t* out, Opcode op, uint64_t payload_len, bool fin = true);
// The same, appended to `out`.
void encode_frame_header(OutBuffer& out, Opcode op, uint64_t payload_len, bool fin = true);

// A whole close frame: the code, then `reason` cut to fit the 125-byte
// control payload without splitting a UTF-8 character.
OutBuffer encode_close(uint16_t code, std::string_view reason);

}  // namespace wharf::net::websocket
