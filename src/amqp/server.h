// AMQP listener: accepts on shard 0 and spreads connections round robin over
// all shards (as kafka::Server); each connection becomes an amqp::Connection
// on its shard for the rest of its life.
//
// The authenticator and the channel handler factory are fixed at
// construction and shared by every connection (see auth.h and
// channel_handler.h for their thread rules). Until the broker-backed handler
// exists, the default is NotImplementedHandler.
//
// Flow control: from start() to stop() the server follows the broker's
// resource alarms (broker/resource_monitor.h). Each shard keeps the last
// alarm state posted to it and its live connections; a change blocks or
// unblocks every connection of the shard (ConnectionContext::block), and a
// connection accepted while an alarm is in force starts blocked.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "amqp/auth.h"
#include "amqp/channel_handler.h"
#include "amqp/config.h"
#include "base/result.h"
#include "broker/broker.h"
#include "net/sharded_listener.h"

namespace wharf::amqp {

struct ConnectionEnv;

class Server {
 public:
  // Null auth / factory: RegistryAuth over broker.routing() (the users and
  // vhosts in the data dir) / NotImplementedHandler.
  Server(broker::Broker& broker, AmqpConfig config, std::shared_ptr<const AmqpAuth> auth = nullptr,
         ChannelHandlerFactory handlers = nullptr);
  ~Server();
  status start();  // blocks until listening (or failed)
  // Blocks until the listener is closed and every open connection was sent
  // connection.close 320 CONNECTION_FORCED ("broker shutdown"), as RabbitMQ
  // does on shutdown, so clients see why they were disconnected.
  void stop();
  uint16_t port() const { return port_; }

 private:
  class Connections;  // the open connections of one shard; touched only on that shard

  // Ends the resource-alarm subscription; returns once no alarm news for
  // this server is queued on any shard.
  void stop_alarms();

  broker::Broker& broker_;
  std::shared_ptr<const ConnectionEnv> env_;
  std::vector<std::unique_ptr<Connections>> connections_;  // index: shard
  std::unique_ptr<net::ShardedListener> listener_;
  std::optional<uint64_t> alarm_subscription_;  // broker.resources(), from start() to stop()
  bool accepting_ = false;  // start() succeeded and stop() has not run
  uint16_t port_ = 0;
};

}  // namespace wharf::amqp
