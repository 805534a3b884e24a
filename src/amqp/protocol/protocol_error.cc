#include "amqp/protocol/protocol_error.h"

namespace wharf::amqp {

ReplyCode reply_code_for(WireErrc e) {
  switch (e) {
    case WireErrc::kBadFrameEnd:
    case WireErrc::kFrameTooLarge:
    case WireErrc::kUnknownFrameType:
    case WireErrc::kBadHeartbeat:
      return ReplyCode::FRAME_ERROR;
    case WireErrc::kMalformedMethod:
    case WireErrc::kMalformedHeader:
      return ReplyCode::SYNTAX_ERROR;
    case WireErrc::kUnknownMethod:
      return ReplyCode::NOT_IMPLEMENTED;
    case WireErrc::kUnexpectedFrame:
      return ReplyCode::UNEXPECTED_FRAME;
    case WireErrc::kContentTooLarge:
      return ReplyCode::PRECONDITION_FAILED;
  }
  return ReplyCode::INTERNAL_ERROR;
}

std::string_view wire_errc_name(WireErrc e) {
  switch (e) {
    case WireErrc::kBadFrameEnd: return "bad_frame_end";
    case WireErrc::kFrameTooLarge: return "frame_too_large";
    case WireErrc::kUnknownFrameType: return "unknown_frame_type";
    case WireErrc::kBadHeartbeat: return "bad_heartbeat";
    case WireErrc::kMalformedMethod: return "malformed_method";
    case WireErrc::kMalformedHeader: return "malformed_header";
    case WireErrc::kUnknownMethod: return "unknown_method";
    case WireErrc::kUnexpectedFrame: return "unexpected_frame";
    case WireErrc::kContentTooLarge: return "content_too_large";
  }
  return "?";
}

}  // namespace wharf::amqp
