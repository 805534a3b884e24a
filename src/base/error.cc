#include "base/error.h"

namespace wharf {

std::string_view errc_name(Errc c) {
  switch (c) {
    case Errc::kOk: return "ok";
    case Errc::kUnknown: return "unknown";
    case Errc::kIo: return "io";
    case Errc::kCorrupt: return "corrupt";
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kNotFound: return "not_found";
    case Errc::kAlreadyExists: return "already_exists";
    case Errc::kOffsetOutOfRange: return "offset_out_of_range";
    case Errc::kMessageTooLarge: return "message_too_large";
    case Errc::kOutOfOrderSequence: return "out_of_order_sequence";
    case Errc::kDuplicateSequence: return "duplicate_sequence";
    case Errc::kInvalidProducerEpoch: return "invalid_producer_epoch";
    case Errc::kUnknownProducerId: return "unknown_producer_id";
    case Errc::kNotCoordinator: return "not_coordinator";
    case Errc::kTimeout: return "timeout";
    case Errc::kShuttingDown: return "shutting_down";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kAccessRefused: return "access_refused";
    case Errc::kResourceLocked: return "resource_locked";
    case Errc::kPreconditionFailed: return "precondition_failed";
    case Errc::kNotAllowed: return "not_allowed";
  }
  return "?";
}

}  // namespace wharf
