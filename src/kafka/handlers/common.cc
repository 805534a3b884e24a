#include "kafka/handlers/common.h"

#include <chrono>

namespace wharf::kafka {

int16_t to_kafka_error(Errc e) {
  switch (e) {
    case Errc::kOk: return 0;
    case Errc::kCorrupt: return 2;               // CORRUPT_MESSAGE
    case Errc::kNotFound: return 3;              // UNKNOWN_TOPIC_OR_PARTITION
    case Errc::kOffsetOutOfRange: return 1;      // OFFSET_OUT_OF_RANGE
    case Errc::kMessageTooLarge: return 10;      // MESSAGE_TOO_LARGE
    case Errc::kOutOfOrderSequence: return 45;   // OUT_OF_ORDER_SEQUENCE_NUMBER
    case Errc::kDuplicateSequence: return 46;    // DUPLICATE_SEQUENCE_NUMBER
    case Errc::kInvalidProducerEpoch: return 47; // INVALID_PRODUCER_EPOCH
    case Errc::kUnknownProducerId: return 59;    // UNKNOWN_PRODUCER_ID
    case Errc::kNotCoordinator: return 16;       // NOT_COORDINATOR
    case Errc::kTimeout: return 7;               // REQUEST_TIMED_OUT
    case Errc::kIo: return 56;                   // KAFKA_STORAGE_ERROR
    case Errc::kInvalidArgument: return 87;      // INVALID_RECORD
    case Errc::kAlreadyExists: return 36;        // TOPIC_ALREADY_EXISTS
    case Errc::kUnsupported: return 35;          // UNSUPPORTED_VERSION
    case Errc::kShuttingDown: return 15;         // COORDINATOR_NOT_AVAILABLE
    case Errc::kUnknown: return -1;
    // Entity-model errors of the AMQP/STOMP registry; no Kafka path yields them.
    case Errc::kAccessRefused:
    case Errc::kResourceLocked:
    case Errc::kPreconditionFailed:
    case Errc::kNotAllowed: return -1;           // UNKNOWN_SERVER_ERROR
  }
  return -1;
}

std::string advertised_host(const RequestPtr& req) {
  const auto& c = req->config();
  if (!c.advertised_host.empty()) return c.advertised_host;
  auto colon = c.listen.rfind(':');
  std::string host = colon == std::string::npos ? c.listen : c.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "*") return "localhost";
  return host;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace wharf::kafka
