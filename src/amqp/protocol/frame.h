// AMQP 0-9-1 frame layout (spec section 4.2.3 / 2.3.5).
//
//   offset    size  field
//   0         1     type        1 method, 2 content header, 3 content body, 8 heartbeat
//   1         2     channel     0 = the connection itself
//   3         4     size        payload octets
//   7         size  payload
//   7 + size  1     frame-end   0xCE
//
// frame_max (negotiated by connection.tune / tune-ok) bounds the whole frame,
// header and frame-end included: 8 + size <= frame_max. Until tune-ok, frames
// must fit kFrameMinSize (4096).
//
// Payloads by type:
//   method     short class-id, short method-id, arguments (generated/methods.h)
//   header     short class-id, short weight (0), longlong body-size,
//              property flags and properties (content_header.h)
//   body       raw body octets; a body of N octets is sent as ceil(N / (frame_max - 8))
//              body frames (none when N == 0)
//   heartbeat  channel 0, empty payload
//
// A content-carrying method (basic.publish, basic.deliver, ...) is followed
// on the same channel by exactly one header frame and then body frames until
// body-size octets have arrived; frames of other channels may interleave.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "amqp/protocol/generated/constants.h"

namespace wharf::amqp {

inline constexpr size_t kFrameHeaderSize = 7;               // type, channel, size
inline constexpr size_t kFrameOverhead = kFrameHeaderSize + 1;  // ... and frame-end
static_assert(kFrameOverhead == 8, "frame_max counts exactly 8 octets of overhead");
static_assert(kFrameMinSize > kFrameOverhead);

// One frame as found in an input buffer.
struct Frame {
  FrameType type = FrameType::Heartbeat;
  uint16_t channel = 0;
  // A view into the buffer the frame was parsed from; valid as long as it.
  std::span<uint8_t> payload;
};

// Largest body payload that fits one body frame.
constexpr size_t max_body_chunk(uint32_t frame_max) { return size_t(frame_max) - kFrameOverhead; }

}  // namespace wharf::amqp
