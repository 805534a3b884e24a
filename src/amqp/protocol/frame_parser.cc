#include "amqp/protocol/frame_parser.h"

#include <cassert>
#include <string>

#include "base/endian.h"

namespace wharf::amqp {

namespace {

FrameParse error(WireErrc e, uint16_t channel, std::string text) {
  FrameParse p;
  p.status = FrameParse::kError;
  p.error.errc = e;
  p.error.channel = channel;
  p.error.text = std::move(text);
  return p;
}

bool known_type(uint8_t t) {
  switch (FrameType(t)) {
    case FrameType::Method:
    case FrameType::Header:
    case FrameType::Body:
    case FrameType::Heartbeat:
      return true;
  }
  return false;
}

}  // namespace

void FrameParser::set_frame_max(uint32_t frame_max) {
  assert(frame_max >= kFrameMinSize);
  frame_max_ = frame_max < kFrameMinSize ? kFrameMinSize : frame_max;
}

FrameParse FrameParser::parse(std::span<uint8_t> data) const {
  FrameParse p;
  if (data.size() < kFrameHeaderSize) {
    p.size = kFrameHeaderSize;
    return p;
  }
  const uint8_t type = data[0];
  const uint16_t channel = load_be16(data.data() + 1);
  const uint32_t size = load_be32(data.data() + 3);
  if (!known_type(type)) {
    return error(WireErrc::kUnknownFrameType, channel, "unknown frame type " + std::to_string(type));
  }
  // 64-bit arithmetic: size may be close to 2^32.
  const uint64_t total = uint64_t(size) + kFrameOverhead;
  if (total > frame_max_) {
    return error(WireErrc::kFrameTooLarge, channel,
                 "frame of " + std::to_string(total) + " bytes exceeds frame_max " + std::to_string(frame_max_));
  }
  if (FrameType(type) == FrameType::Heartbeat && (channel != 0 || size != 0)) {
    return error(WireErrc::kBadHeartbeat, channel, "heartbeat frame must be on channel 0 and empty");
  }
  if (data.size() < total) {
    p.size = size_t(total);
    return p;
  }
  if (data[kFrameHeaderSize + size] != kFrameEnd) {
    return error(WireErrc::kBadFrameEnd, channel, "frame-end octet is not 0xCE");
  }
  p.status = FrameParse::kFrame;
  p.frame.type = FrameType(type);
  p.frame.channel = channel;
  p.frame.payload = data.subspan(kFrameHeaderSize, size);
  p.size = size_t(total);
  return p;
}

}  // namespace wharf::amqp
