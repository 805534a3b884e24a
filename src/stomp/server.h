// STOMP listeners: plain TCP (stomp.listen) and, when configured, STOMP over
// WebSocket (stomp.ws_listen, path stomp.ws_path). Both accept on shard 0
// and spread connections round robin over all shards; each connection is a
// stomp::Session on its shard for the rest of its life.
//
// Resource alarms (broker/resource_monitor.h): while one is raised, a
// connection that has sent messages is no longer read (RabbitMQ's STOMP
// adapter does the same); consumers keep being read, so their ACKs drain
// the queues.
//
// Thread rules: start() and stop() from the main thread (not a shard).
#pragma once

#include <memory>
#include <optional>

#include "base/result.h"
#include "broker/broker.h"
#include "net/sharded_listener.h"
#include "stomp/config.h"

namespace wharf::stomp {

class Server {
 public:
  Server(broker::Broker& broker, StompConfig config);
  ~Server();
  status start();  // blocks until listening (or failed)
  // Closes the listeners and every open connection.
  void stop();
  uint16_t port() const { return port_; }
  uint16_t ws_port() const { return ws_port_; }  // 0 when WebSocket is off
  const StompConfig& config() const { return config_; }

 private:
  class Connections;  // the open sessions of one shard; touched only on that shard
  void stop_alarms();

  broker::Broker& broker_;
  StompConfig config_;
  std::vector<std::unique_ptr<Connections>> connections_;  // index: shard
  std::unique_ptr<net::ShardedListener> listener_, ws_listener_;
  std::optional<uint64_t> alarm_subscription_;  // broker.resources(), from start() to stop()
  bool started_ = false;
  uint16_t port_ = 0, ws_port_ = 0;
};

}  // namespace wharf::stomp
