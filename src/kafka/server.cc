#include "kafka/server.h"

#include "kafka/session.h"

namespace wharf::kafka {

Server::Server(broker::Broker& broker, KafkaConfig config) : broker_(broker), config_(std::move(config)) {}

Server::~Server() { stop(); }

status Server::start() {
  auto ep = net::parse_endpoint(config_.listen);
  if (!ep.ok()) return ep.error();
  auto& shards = broker_.shards();
  listener_ = std::make_unique<net::ShardedListener>(
      shards.count(), [&shards](unsigned i) -> asio::io_context& { return shards.io(ShardId(i)); },
      [this](unsigned, const std::shared_ptr<net::Connection>& c) {
        return std::make_unique<KafkaSession>(broker_, config_, c, listener_->port());
      });
  return listener_->start(*ep);
}

// The ShardedListener itself stays until destruction: sockets accepted just
// before stop() may still be reaching their shard and need its factory.
void Server::stop() {
  if (listener_) listener_->stop();
}

}  // namespace wharf::kafka
