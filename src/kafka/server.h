// Kafka listener: accepts on shard 0 and spreads connections round robin over
// all shards, each connection getting a KafkaSession.
#pragma once

#include <atomic>
#include <memory>

#include "base/result.h"
#include "broker/broker.h"
#include "kafka/config.h"
#include "net/listener.h"

namespace wharf::kafka {

class Server {
 public:
  Server(broker::Broker& broker, KafkaConfig config);
  ~Server();
  status start();  // blocks until listening (or failed)
  void stop();     // blocks until the listener is closed
  uint16_t port() const { return port_; }

 private:
  broker::Broker& broker_;
  KafkaConfig config_;
  std::unique_ptr<net::Listener> listener_;
  std::atomic<uint32_t> next_shard_{0};
  uint16_t port_ = 0;
};

}  // namespace wharf::kafka
