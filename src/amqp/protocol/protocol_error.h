// Protocol errors found while parsing frames and assembling commands, and
// the reply code the connection layer sends for each (in connection.close for
// a hard error, channel.close for a soft one).
//
// Mapping (reply code meanings from the 0-9-1 spec; where the spec leaves a
// choice we do what RabbitMQ does, since clients are tested against it):
//   kBadFrameEnd       501 FRAME_ERROR       frame-end octet is not 0xCE
//   kFrameTooLarge     501 FRAME_ERROR       8 + size > frame_max
//   kUnknownFrameType  501 FRAME_ERROR       type octet not 1, 2, 3 or 8
//   kBadHeartbeat      501 FRAME_ERROR       heartbeat on channel != 0 or with a payload
//   kMalformedMethod   502 SYNTAX_ERROR      arguments truncated, trailing bytes,
//                                            unknown field-table type, nesting too deep
//   kMalformedHeader   502 SYNTAX_ERROR      content header does not decode
//   kUnknownMethod     540 NOT_IMPLEMENTED   class-id/method-id not in the spec
//   kUnexpectedFrame   505 UNEXPECTED_FRAME  frame out of sequence: header or body
//                                            without a content method, a method
//                                            before the content is complete, more
//                                            body octets than body-size
//   kContentTooLarge   406 PRECONDITION_FAILED (soft) body-size over the broker's
//                                            limit; RabbitMQ answers the same way
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "amqp/protocol/generated/constants.h"

namespace wharf::amqp {

enum class WireErrc : uint8_t {
  kBadFrameEnd,
  kFrameTooLarge,
  kUnknownFrameType,
  kBadHeartbeat,
  kMalformedMethod,
  kMalformedHeader,
  kUnknownMethod,
  kUnexpectedFrame,
  kContentTooLarge,
};

ReplyCode reply_code_for(WireErrc e);
std::string_view wire_errc_name(WireErrc e);  // "bad_frame_end", ...

// Everything connection.close / channel.close need: reply code, reply text and
// the class and method that caused the error (0 when no method was involved).
struct ProtocolError {
  WireErrc errc = WireErrc::kBadFrameEnd;
  uint16_t channel = 0;
  uint16_t class_id = 0;
  uint16_t method_id = 0;
  std::string text;  // for logs and reply-text; no payload bytes

  ReplyCode reply_code() const { return reply_code_for(errc); }
  // A hard error closes the connection; otherwise only `channel` is closed.
  bool closes_connection() const { return is_hard_error(reply_code()); }
};

}  // namespace wharf::amqp
