// Kafka connection session: frames requests, dispatches them to handlers and
// writes responses in request order (Kafka clients match responses to
// requests by order as well as correlation id).
//
// Requests are pipelined: up to max_inflight_per_connection are processed at
// once; past that the connection stops reading (backpressure). Produce
// requests of one connection to one partition stay in order because they are
// posted to the partition's shard in order.
//
// Malformed input (bad size, undecodable header or body, unknown API key,
// unsupported version other than ApiVersions) closes this connection only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/out_buffer.h"
#include "broker/broker.h"
#include "kafka/config.h"
#include "net/connection.h"
#include "net/session.h"

namespace wharf::kafka {

// State shared with in-flight requests; outlives the connection if needed.
class SessionCore {
 public:
  SessionCore(broker::Broker& b, const KafkaConfig& c, std::weak_ptr<net::Connection> conn, uint16_t port);

  broker::Broker& broker;
  const KafkaConfig& config;
  std::weak_ptr<net::Connection> conn;
  std::string client_host;
  uint16_t port;
  bool closed = false;

  void complete(uint64_t seq, std::optional<OutBuffer> frame);  // nullopt: no response
  void fail(const std::string& why);
  uint64_t next_seq = 0;
  uint64_t next_to_send = 0;
  size_t inflight = 0;
  std::map<uint64_t, std::optional<OutBuffer>> done;  // completed, waiting for earlier ones
};

class KafkaSession : public net::Session {
 public:
  KafkaSession(broker::Broker& b, const KafkaConfig& c, const std::shared_ptr<net::Connection>& conn, uint16_t port);
  result<size_t> on_data(const net::Block& block, std::span<uint8_t> data, size_t* want) override;
  void on_close() override;

 private:
  status dispatch(const net::Block& block, std::span<uint8_t> frame);
  std::shared_ptr<SessionCore> core_;
};

}  // namespace wharf::kafka
