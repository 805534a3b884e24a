#include "stomp/server.h"

#include <future>

#include "base/logging.h"
#include "broker/resource_monitor.h"
#include "net/listener.h"
#include "net/tcp_transport.h"
#include "net/websocket/session.h"
#include "stomp/session.h"

namespace wharf::stomp {

class Server::Connections {
 public:
  void add(const std::shared_ptr<Session>& s) {
    // Forget closed ones now and then, so the list stays proportional to the
    // open connections.
    if (list_.size() >= 2 * live_at_last_prune_ + 64) {
      std::erase_if(list_, [](const auto& w) { return w.expired(); });
      live_at_last_prune_ = list_.size();
    }
    list_.push_back(s);
    if (alarms_.any()) s->set_alarm(true);
  }
  // The resource alarms changed (posted by the monitor, in order).
  void set_alarms(const broker::ResourceAlarms& a) {
    alarms_ = a;
    for (auto& w : list_)
      if (auto s = w.lock()) s->set_alarm(a.any());
  }
  void close_all(const std::string& why) {
    for (auto& w : list_)
      if (auto s = w.lock()) s->shut_down(why);
    list_.clear();
  }

 private:
  std::vector<std::weak_ptr<Session>> list_;
  size_t live_at_last_prune_ = 0;
  broker::ResourceAlarms alarms_;  // the last state posted to this shard
};

Server::Server(broker::Broker& broker, StompConfig config) : broker_(broker), config_(std::move(config)) {
  for (unsigned i = 0; i < broker_.shards().count(); ++i) connections_.push_back(std::make_unique<Connections>());
}

Server::~Server() { stop(); }

status Server::start() {
  auto ep = net::parse_endpoint(config_.listen);
  if (!ep.ok()) return ep.error();
  auto& shards = broker_.shards();
  auto loop = [&shards](unsigned i) -> asio::io_context& { return shards.io(ShardId(i)); };
  listener_ = std::make_unique<net::ShardedListener>(
      shards.count(), loop, [this](unsigned shard, const std::shared_ptr<net::Connection>& c) {
        auto s = std::make_shared<Session>(broker_, config_, std::make_unique<net::TcpTransport>(c), c->peer(),
                                           net::is_loopback_peer(c->peer()));
        s->start();
        connections_[shard]->add(s);
        return std::make_unique<net::SharedSession>(std::move(s));
      });
  // Subscribed before accepting: each shard learns the alarms in force
  // before its first connection arrives.
  alarm_subscription_ = broker::subscribe_on_shards(
      broker_.resources(), shards,
      [this](ShardId s, const broker::ResourceAlarms& a) { connections_[s.value]->set_alarms(a); });
  auto st = listener_->start(*ep);
  if (!st.ok()) {
    stop_alarms();
    return st;
  }
  port_ = listener_->port();
  if (!config_.ws_listen.empty()) {
    auto wep = net::parse_endpoint(config_.ws_listen);
    if (!wep.ok()) {
      listener_->stop();
      stop_alarms();
      return wep.error();
    }
    net::websocket::WebSocketOptions wo;
    wo.handshake.path = config_.ws_path;
    wo.handshake.subprotocols = {"v12.stomp", "v11.stomp", "v10.stomp"};
    // Above the STOMP frame limit, so an oversized frame gets STOMP's ERROR first.
    wo.max_message_bytes = config_.max_body_bytes + 2 * 1024 * 1024;
    ws_listener_ = std::make_unique<net::ShardedListener>(
        shards.count(), loop, [this, wo](unsigned shard, const std::shared_ptr<net::Connection>& c) {
          return net::websocket::make_websocket_session(
              c, wo, [this, shard, peer = c->peer()](std::unique_ptr<net::Transport> t,
                                                    const net::websocket::UpgradeRequest&) -> std::unique_ptr<net::Session> {
                auto s = std::make_shared<Session>(broker_, config_, std::move(t), peer, net::is_loopback_peer(peer));
                s->start();
                connections_[shard]->add(s);
                return std::make_unique<net::SharedSession>(std::move(s));
              });
        });
    if (auto wst = ws_listener_->start(*wep); !wst.ok()) {
      listener_->stop();
      stop_alarms();
      return wst;
    }
    ws_port_ = ws_listener_->port();
  }
  started_ = true;
  return {};
}

void Server::stop_alarms() {
  if (!alarm_subscription_) return;
  // News already posted to a shard refers to `this`: wait until it ran.
  broker::unsubscribe_on_shards(broker_.resources(), broker_.shards(), *alarm_subscription_);
  alarm_subscription_.reset();
}

void Server::stop() {
  if (!started_) return;
  started_ = false;
  stop_alarms();
  listener_->stop();
  if (ws_listener_) ws_listener_->stop();
  auto& shards = broker_.shards();
  for (unsigned i = 0; i < shards.count(); ++i)
    shards.run_blocking(ShardId(i), [this, i] {
      connections_[i]->close_all("broker shutdown");
      return true;
    });
}

}  // namespace wharf::stomp
