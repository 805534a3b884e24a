#include "amqp/protocol/frame_writer.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "base/endian.h"

namespace wharf::amqp {

namespace detail {

FrameMark begin_frame(OutBuffer& out, FrameType type, uint16_t channel) {
  uint8_t h[kFrameHeaderSize] = {uint8_t(type), uint8_t(channel >> 8), uint8_t(channel), 0, 0, 0, 0};
  out.append(h, sizeof h);
  // OutBuffer::append puts all of it at the end of the last chunk, which is
  // a memory chunk.
  auto& chunks = out.chunks();
  assert(!chunks.empty() && !chunks.back().is_file());
  return FrameMark{chunks.size() - 1, chunks.back().mem.size() - kFrameHeaderSize, out.size()};
}

status end_frame(OutBuffer& out, const FrameMark& mark, bool values_fit, uint32_t frame_max) {
  const size_t payload = out.size() - mark.start;
  out.append_u8(kFrameEnd);
  if (!values_fit) return make_error(Errc::kInvalidArgument, "a value does not fit its AMQP type");
  if (payload + kFrameOverhead > frame_max) {
    return make_error(Errc::kMessageTooLarge, "frame of " + std::to_string(payload + kFrameOverhead) +
                                                  " bytes exceeds frame_max " + std::to_string(frame_max));
  }
  auto& chunks = out.chunks();
  assert(mark.chunk == chunks.size() - 1 && !chunks[mark.chunk].is_file());
  store_be32(chunks[mark.chunk].mem.data() + mark.offset + 3, uint32_t(payload));
  return {};
}

}  // namespace detail

status write_method_frame(OutBuffer& out, uint16_t channel, const msg::AnyMethod& m, uint32_t frame_max) {
  return std::visit([&](const auto& x) { return write_method_frame(out, channel, x, frame_max); }, m);
}

status write_content_header_frame(OutBuffer& out, uint16_t channel, const ContentHeader& h, uint32_t frame_max) {
  detail::FrameMark mark = detail::begin_frame(out, FrameType::Header, channel);
  Writer w(out);
  encode_content_header(h, w);
  return detail::end_frame(out, mark, w.ok(), frame_max);
}

status write_content_header_frame(OutBuffer& out, uint16_t channel, uint64_t body_size,
                                  const msg::BasicProperties& props, uint32_t frame_max) {
  detail::FrameMark mark = detail::begin_frame(out, FrameType::Header, channel);
  Writer w(out);
  encode_content_header(body_size, props, w);
  return detail::end_frame(out, mark, w.ok(), frame_max);
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
