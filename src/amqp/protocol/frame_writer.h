// Appends whole AMQP frames (layout in frame.h) to an OutBuffer.
//
// frame_max is the negotiated maximum frame size, the 8 octets of frame
// overhead included. REQUIRES: frame_max >= kFrameMinSize.
//
// Method and content header frames cannot be split. If one would exceed
// frame_max, or holds a value its wire type cannot represent (a short string
// over 255 bytes), the write returns an error and `out` is left holding a
// frame with a zero size: the caller must discard `out` (in practice: close the
// connection with INTERNAL_ERROR, since the broker built an unsendable frame).
// Body frames always succeed.
//
// Cost: no allocation beyond the OutBuffer's own growth; the frame size is
// patched in place once the payload is written.
#pragma once

#include <cstdint>
#include <span>

#include "amqp/protocol/content_header.h"
#include "amqp/protocol/frame.h"
#include "amqp/protocol/generated/methods.h"
#include "amqp/protocol/writer.h"
#include "base/file_slice.h"
#include "base/out_buffer.h"
#include "base/result.h"

namespace wharf::amqp {

namespace detail {

// Writes type and channel and reserves the payload size.
Writer::LongSlot begin_frame(Writer& w, FrameType type, uint16_t channel);
// Checks the payload written since begin_frame, fills in its size and writes
// frame-end.
status end_frame(Writer& w, const Writer::LongSlot& size, uint32_t frame_max);

}  // namespace detail

// A method frame for any generated method struct (msg::BasicDeliver, ...).
template <class M>
status write_method_frame(OutBuffer& out, uint16_t channel, const M& m, uint32_t frame_max) {
  Writer w(out);
  const Writer::LongSlot size = detail::begin_frame(w, FrameType::Method, channel);
  w.write_short(M::kClassId);
  w.write_short(M::kMethodId);
  m.encode(w);
  return detail::end_frame(w, size, frame_max);
}

status write_method_frame(OutBuffer& out, uint16_t channel, const msg::AnyMethod& m, uint32_t frame_max);

status write_content_header_frame(OutBuffer& out, uint16_t channel, const ContentHeader& h, uint32_t frame_max);
// The same for class basic without building a ContentHeader.
status write_content_header_frame(OutBuffer& out, uint16_t channel, uint64_t body_size,
                                  const msg::BasicProperties& props, uint32_t frame_max);

// Body frames of at most frame_max - 8 payload octets each; nothing for an
// empty body.
void write_body_frames(OutBuffer& out, uint16_t channel, std::span<const uint8_t> body, uint32_t frame_max);
// The same for a body stored in a file: the payloads are FileSlices of
// `body`, sent with sendfile() between small memory headers.
void write_body_frames(OutBuffer& out, uint16_t channel, const FileSlice& body, uint32_t frame_max);

// Heartbeat: type 8, channel 0, no payload.
void write_heartbeat_frame(OutBuffer& out);

// A whole content command: method frame, header frame, body frames.
template <class M>
status write_content(OutBuffer& out, uint16_t channel, const M& m, const msg::BasicProperties& props,
                     std::span<const uint8_t> body, uint32_t frame_max) {
  static_assert(M::kHasContent, "only content methods (basic.publish, basic.deliver, ...) carry content");
  if (auto st = write_method_frame(out, channel, m, frame_max); !st.ok()) return st;
  static_assert(M::kClassId == msg::BasicProperties::kClassId);
  if (auto st = write_content_header_frame(out, channel, body.size(), props, frame_max); !st.ok()) return st;
  write_body_frames(out, channel, body, frame_max);
  return {};
}

}  // namespace wharf::amqp
