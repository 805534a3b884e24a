#include "amqp/protocol/frame_writer.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "base/endian.h"

namespace wharf::amqp {

namespace detail {

Writer::LongSlot begin_frame(Writer& w, FrameType type, uint16_t channel) {
  w.write_octet(uint8_t(type));
  w.write_short(channel);
  return w.reserve_long();
}

status end_frame(Writer& w, const Writer::LongSlot& size, uint32_t frame_max) {
  const size_t payload = w.bytes_since(size);
  w.write_octet(kFrameEnd);
  if (!w.ok()) return make_error(Errc::kInvalidArgument, "a value does not fit its AMQP type");
  if (payload + kFrameOverhead > frame_max) {
    return make_error(Errc::kMessageTooLarge, "frame of " + std::to_string(payload + kFrameOverhead) +
                                                  " bytes exceeds frame_max " + std::to_string(frame_max));
  }
  w.fill_long(size, uint32_t(payload));
  return {};
}

}  // namespace detail

status write_method_frame(OutBuffer& out, uint16_t channel, const msg::AnyMethod& m, uint32_t frame_max) {
  return std::visit([&](const auto& x) { return write_method_frame(out, channel, x, frame_max); }, m);
}

status write_content_header_frame(OutBuffer& out, uint16_t channel, const ContentHeader& h, uint32_t frame_max) {
  Writer w(out);
  const Writer::LongSlot size = detail::begin_frame(w, FrameType::Header, channel);
  encode_content_header(h, w);
  return detail::end_frame(w, size, frame_max);
}

status write_content_header_frame(OutBuffer& out, uint16_t channel, uint64_t body_size,
                                  const msg::BasicProperties& props, uint32_t frame_max) {
  Writer w(out);
  const Writer::LongSlot size = detail::begin_frame(w, FrameType::Header, channel);
  encode_content_header(body_size, props, w);
  return detail::end_frame(w, size, frame_max);
}

namespace {

void body_header(OutBuffer& out, uint16_t channel, size_t n) {
  uint8_t h[kFrameHeaderSize] = {uint8_t(FrameType::Body), uint8_t(channel >> 8), uint8_t(channel), 0, 0, 0, 0};
  store_be32(h + 3, uint32_t(n));
  out.append(h, sizeof h);
}

}  // namespace

void write_body_frames(OutBuffer& out, uint16_t channel, std::span<const uint8_t> body, uint32_t frame_max) {
  assert(frame_max >= kFrameMinSize);
  const size_t chunk = max_body_chunk(frame_max);
  for (size_t pos = 0; pos < body.size(); pos += chunk) {
    const size_t n = std::min(chunk, body.size() - pos);
    body_header(out, channel, n);
    out.append(body.subspan(pos, n));
    out.append_u8(kFrameEnd);
  }
}

void write_body_frames(OutBuffer& out, uint16_t channel, const FileSlice& body, uint32_t frame_max) {
  assert(frame_max >= kFrameMinSize);
  const size_t chunk = max_body_chunk(frame_max);
  for (size_t pos = 0; pos < body.len; pos += chunk) {
    const size_t n = std::min(chunk, body.len - pos);
    body_header(out, channel, n);
    out.append_file(FileSlice{body.owner, body.fd, body.pos + int64_t(pos), n});
    out.append_u8(kFrameEnd);
  }
}

void write_heartbeat_frame(OutBuffer& out) {
  const uint8_t f[kFrameOverhead] = {uint8_t(FrameType::Heartbeat), 0, 0, 0, 0, 0, 0, kFrameEnd};
  out.append(f, sizeof f);
}

}  // namespace wharf::amqp
