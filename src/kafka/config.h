// Settings of the Kafka front end.
#pragma once

#include <cstdint>
#include <string>

namespace wharf::kafka {

struct KafkaConfig {
  std::string listen = "0.0.0.0:9092";
  std::string advertised_host;                  // empty: listen host, or "localhost" for a wildcard
  int32_t max_request_bytes = 104857600;        // socket.request.max.bytes; larger frames close the connection
  // Requests decoded but not yet answered. High enough that a producer
  // pipelining small acks=all requests keeps feeding group-commit rounds while
  // earlier ones wait for fsync (64 capped such a producer near 6,000 req/s).
  // Memory stays bounded: a request pins at most its receive block.
  int32_t max_inflight_per_connection = 1024;
};

}  // namespace wharf::kafka
