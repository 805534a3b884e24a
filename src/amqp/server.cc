#include "amqp/server.h"

#include <unistd.h>

#include <future>
#include <vector>

#include "amqp/connection.h"
#include "amqp/transport.h"
#include "amqp/not_implemented_handler.h"
#include "amqp/registry_auth.h"

namespace wharf::amqp {

namespace {

std::string cluster_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "wharf@localhost";
  return std::string("wharf@") + host;
}

}  // namespace

class Server::Connections {
 public:
  void add(const std::shared_ptr<Connection>& c) {
    // Forget closed ones now and then, so the list stays proportional to the
    // open connections.
    if (list_.size() >= 2 * live_at_last_prune_ + 64) {
      std::erase_if(list_, [](const auto& w) { return w.expired(); });
      live_at_last_prune_ = list_.size();
    }
    list_.push_back(c);
    // A connection accepted during an alarm starts blocking: its first
    // publish is held (Connection::block).
    if (alarms_.any()) c->block(alarms_.reason());
  }
  // The resource alarms changed (posted by the monitor, in order).
  void set_alarms(const broker::ResourceAlarms& a) {
    alarms_ = a;
    for (auto& w : list_) {
      auto c = w.lock();
      if (!c) continue;
      if (!a.any()) {
        c->unblock();
      } else {
        // Already blocking: a new reason is not announced again (RabbitMQ
        // sends connection.blocked once per blocked period).
        c->block(a.reason());
      }
    }
  }
  void close_all(std::string_view why) {
    for (auto& w : list_) {
      if (auto c = w.lock()) c->close(ReplyCode::CONNECTION_FORCED, why, msg::MethodId{});
    }
    list_.clear();
  }

 private:
  std::vector<std::weak_ptr<Connection>> list_;
  size_t live_at_last_prune_ = 0;
  broker::ResourceAlarms alarms_;  // the last state posted to this shard
};

status validate(const AmqpConfig& c) {
  if (c.frame_max < kFrameMinSize) {
    return make_error(Errc::kInvalidArgument,
                      "amqp.frame_max " + std::to_string(c.frame_max) + " is below the AMQP minimum of 4096");
  }
  if (c.channel_max == 0) return make_error(Errc::kInvalidArgument, "amqp.channel_max must be at least 1");
  if (c.max_message_bytes == 0) return make_error(Errc::kInvalidArgument, "amqp.max_message_bytes must be positive");
  if (c.handshake_timeout_ms == 0) {
    return make_error(Errc::kInvalidArgument, "amqp.handshake_timeout_ms must be positive");
  }
  return {};
}

Server::Server(broker::Broker& broker, AmqpConfig config, std::shared_ptr<const AmqpAuth> auth,
               ChannelHandlerFactory handlers)
    : broker_(broker) {
  auto env = std::make_shared<ConnectionEnv>();
  env->config = std::move(config);
  env->auth = auth ? std::move(auth) : std::make_shared<RegistryAuth>(broker_.routing());
  env->handler_factory = handlers ? std::move(handlers) : not_implemented_handler_factory();
  env->cluster_name = cluster_name();
  env_ = std::move(env);
  for (unsigned i = 0; i < broker_.shards().count(); ++i) connections_.push_back(std::make_unique<Connections>());
}

Server::~Server() { stop(); }

status Server::start() {
  if (auto st = validate(env_->config); !st.ok()) return st;
  auto ep = net::parse_endpoint(env_->config.listen);
  if (!ep.ok()) return ep.error();
  auto& shards = broker_.shards();
  listener_ = std::make_unique<net::ShardedListener>(
      shards.count(), [&shards](unsigned i) -> asio::io_context& { return shards.io(ShardId(i)); },
      [this](unsigned shard, const std::shared_ptr<net::Connection>& c) {
        auto conn = std::make_shared<Connection>(std::make_unique<NetTransport>(c), env_, c->peer(),
                                                 is_loopback_peer(c->peer()));
        connections_[shard]->add(conn);
        return std::make_unique<net::SharedSession>(std::move(conn));
      });
  // Subscribed before accepting: each shard learns the alarms in force
  // before its first connection arrives.
  alarm_subscription_ = broker::subscribe_on_shards(
      broker_.resources(), shards,
      [this](ShardId s, const broker::ResourceAlarms& a) { connections_[s.value]->set_alarms(a); });
  auto st = listener_->start(*ep);
  port_ = listener_->port();
  accepting_ = st.ok();
  if (!st.ok()) stop_alarms();
  return st;
}

void Server::stop_alarms() {
  if (!alarm_subscription_) return;
  // News already posted to a shard refers to `this`: wait until it ran.
  broker::unsubscribe_on_shards(broker_.resources(), broker_.shards(), *alarm_subscription_);
  alarm_subscription_.reset();
}

void Server::stop() {
  // Never started, start failed, or already stopped: the shards may be gone.
  if (!accepting_) return;
  accepting_ = false;
  stop_alarms();
  auto& shards = broker_.shards();
  // The ShardedListener stays until destruction: sockets accepted just
  // before this may still be reaching their shard and need its factory.
  listener_->stop();
  // Accepted sockets still on their way to a shard are adopted after this and
  // simply dropped when the shards stop.
  for (unsigned i = 0; i < shards.count(); ++i)
    shards.run_blocking(ShardId(i), [this, i] {
      connections_[i]->close_all("broker shutdown");
      return true;
    });
}

}  // namespace wharf::amqp
