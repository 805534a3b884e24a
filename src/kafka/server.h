// Kafka listener: accepts on shard 0 and spreads connections round robin over
// all shards, each connection getting a KafkaSession.
#pragma once

#include <memory>

#include "base/result.h"
#include "broker/broker.h"
#include "kafka/config.h"
#include "net/sharded_listener.h"

namespace wharf::kafka {

class Server {
 public:
  Server(broker::Broker& broker, KafkaConfig config);
  ~Server();
  status start();  // blocks until listening (or failed)
  void stop();     // blocks until the listener is closed
  uint16_t port() const { return listener_ ? listener_->port() : 0; }

 private:
  broker::Broker& broker_;
  KafkaConfig config_;
  std::unique_ptr<net::ShardedListener> listener_;
};

}  // namespace wharf::kafka
