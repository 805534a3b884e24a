// The payload of a content header frame (frame type 2):
//
//   short     class-id     the class of the content method (60, basic)
//   short     weight       unused, must be 0; ignored on decode, 0 on encode
//   longlong  body-size    total octets of the body frames that follow
//   short...  property flags, then the flagged properties (basic_properties.h)
//
// Only class basic carries content in 0-9-1, so any other class-id is a
// malformed header.
#pragma once

#include <cstdint>
#include <span>

#include "amqp/protocol/generated/basic_properties.h"
#include "amqp/protocol/writer.h"
#include "base/result.h"

namespace wharf::amqp {

struct ContentHeader {
  uint16_t class_id = msg::BasicProperties::kClassId;
  uint64_t body_size = 0;
  msg::BasicProperties properties;

  bool operator==(const ContentHeader&) const = default;
};

// Errc::kInvalidArgument if truncated, followed by extra bytes, of a class
// other than basic, or flagging undefined properties.
result<ContentHeader> decode_content_header(std::span<const uint8_t> payload);

void encode_content_header(const ContentHeader& h, Writer& w);
// The same without building a ContentHeader (no copy of the properties).
void encode_content_header(uint64_t body_size, const msg::BasicProperties& props, Writer& w);

}  // namespace wharf::amqp
