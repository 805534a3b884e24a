#include "kafka/server.h"

#include <future>

#include "kafka/session.h"

namespace wharf::kafka {

Server::Server(broker::Broker& broker, KafkaConfig config) : broker_(broker), config_(std::move(config)) {}

Server::~Server() { stop(); }

status Server::start() {
  auto ep = net::parse_endpoint(config_.listen);
  if (!ep.ok()) return ep.error();
  auto& shards = broker_.shards();
  std::promise<status> done;
  auto fut = done.get_future();
  shards.post(ShardId(0), [&] {
    listener_ = std::make_unique<net::Listener>(shards.io(ShardId(0)), [this, &shards](int fd, asio::ip::tcp proto) {
      ShardId target(next_shard_++ % shards.count());
      shards.post(target, [this, &shards, fd, proto, target] {
        net::adopt_socket(shards.io(target), fd, proto, net::ConnectionLimits{},
                          [this](const std::shared_ptr<net::Connection>& c) {
                            return std::make_unique<KafkaSession>(broker_, config_, c, port_);
                          });
      });
    });
    auto st = listener_->listen(*ep);
    port_ = listener_->port();
    if (!st.ok()) listener_.reset();  // nothing to stop later (the shards may be gone by then)
    done.set_value(st);
  });
  return fut.get();
}

void Server::stop() {
  if (!listener_) return;
  std::promise<void> done;
  broker_.shards().post(ShardId(0), [&] {
    listener_->stop();
    listener_.reset();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace wharf::kafka
