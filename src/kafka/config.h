// Settings of the Kafka front end.
#pragma once

#include <cstdint>
#include <string>

namespace wharf::kafka {

struct KafkaConfig {
  std::string listen = "0.0.0.0:9092";
  std::string advertised_host;                  // empty: listen host, or "localhost" for a wildcard
  int32_t max_request_bytes = 104857600;        // socket.request.max.bytes; larger frames close the connection
  int32_t max_inflight_per_connection = 64;     // requests decoded but not yet answered
};

}  // namespace wharf::kafka
