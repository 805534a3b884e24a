#include "broker/delay_host.h"

#include <chrono>

#include "base/logging.h"
#include "broker/broker.h"
#include "broker/header_values.h"
#include "broker/queue_host.h"
#include "broker/routing/registry.h"
#include "broker/stream_bridge.h"

namespace wharf::broker {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Collects the outcomes of one firing's copies (on the engine shard) and
// reports once: the first real failure, else ok.
struct Fanout {
  size_t left = 0;
  status failure;
  delay::FireDone done;
  void part(const status& st) {
    // A queue or topic that went away (or refused the message) drops this
    // copy, as for an unroutable publish: nothing to retry.
    if (!st.ok() && failure.ok() && st.error().code != Errc::kNotFound && st.error().code != Errc::kPreconditionFailed)
      failure = st;
    if (--left == 0) done(failure);
  }
};

}  // namespace

DelayHost::DelayHost(Broker& broker) : broker_(broker) {}
DelayHost::~DelayHost() = default;

status DelayHost::open() {
  return broker_.shards().run_blocking(shard(), [this]() -> status {
    auto& io = broker_.shards().io(shard());
    timer_ = std::make_unique<asio::steady_timer>(io);
    delay::EngineHooks h;
    h.defer = [&io](std::function<void()> fn) { asio::post(io, std::move(fn)); };
    h.request_flush = [this](const std::shared_ptr<Flushable>& f, size_t bytes, bool urgent) {
      broker_.flusher().dirty(f, bytes, urgent);
    };
    h.wake_at = [this](int64_t at) { wake_at(at); };
    h.fire = [this](const delay::DelayTarget& t, const queue::Message& m, delay::FireDone done) {
      fire(t, m, std::move(done));
    };
    auto e = delay::Engine::open(broker_.config().data_dir + "/delayed", delay::EngineConfig{}, std::move(h));
    if (!e.ok()) return e.error();
    engine_ = std::move(*e);
    return {};
  });
}

void DelayHost::shutdown() {
  broker_.shards().run_blocking(shard(), [this] {
    if (timer_) timer_->cancel();
    if (engine_) {
      if (auto st = engine_->close(); !st.ok())
        WLOG_WARN("delay", "closing the delayed-message store: {}", st.error().message);
      engine_.reset();
    }
    return true;
  });
}

void DelayHost::wake_at(int64_t at_ms) {
  timer_->expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at_ms - wall_ms())));
  timer_->async_wait([this](const asio::error_code& ec) {
    if (ec || !engine_) return;  // superseded by a newer wake-up, or shut down
    engine_->tick();
  });
}

void DelayHost::schedule(delay::DelayTarget t, queue::Message m, delay::Schedule s,
                         std::function<void(status)> done) {
  if (auto st = delay::validate(s); !st.ok()) {
    if (done) done(st);
    return;
  }
  broker_.shards().call_async<status>(
      shard(),
      [this, t = std::move(t), m = std::move(m), s = std::move(s)](std::function<void(status)> reply) mutable {
        if (!engine_) return reply(make_error(Errc::kShuttingDown, "broker shutting down"));
        auto st = engine_->schedule(t, m, s, reply);
        if (!st.ok()) reply(st);
      },
      [done = std::move(done)](status st) {
        if (done) done(st);
      });
}

void DelayHost::fire(const delay::DelayTarget& t, const queue::Message& m, delay::FireDone done) {
  auto shared = std::make_shared<const queue::Message>(m);
  std::vector<std::string> queues, topics;
  if (!t.queue.empty()) {
    queues.push_back(t.queue);
  } else {
    routing::Table headers = routing_table_of(m.headers);
    auto st = broker_.routing().route(t.vhost, t.exchange, t.routing_key, &headers, &route_);
    if (!st.ok()) {
      WLOG_DEBUG("delay", "delayed message for exchange '{}' dropped: {}", t.exchange, st.error().message);
      return done(status{});
    }
    for (const auto& d : route_.destinations())
      (d.kind == routing::DestKind::kQueue ? queues : topics).push_back(d.name);
  }
  if (queues.empty() && topics.empty()) return done(status{});

  auto fan = std::make_shared<Fanout>();
  fan->left = queues.size() + topics.size();
  fan->done = std::move(done);
  const ShardId home = shard();
  Shards& shards = broker_.shards();
  for (const auto& name : queues) {
    shards.post(broker_.queues().shard_of(t.vhost, name), [this, vhost = t.vhost, name, shared, fan, home] {
      Shards& sh = broker_.shards();
      auto back = [&sh, fan, home](status st) { sh.run_at(home, [fan, st] { fan->part(st); }); };
      auto r = broker_.queues().publish(vhost, name, *shared, back);
      if (r.ok() && *r == queue::PublishResult::kAccepted) return;
      if (!r.ok() && r.error().code == Errc::kUnsupported)  // a stream queue: its Kafka topic
        return append_to_topic(broker_, name, shared, back);
      back(r.ok() ? status(make_error(Errc::kPreconditionFailed, "rejected")) : status(r.error()));
    });
  }
  for (const auto& topic : topics)
    append_to_topic(broker_, topic, shared, [fan](status st) { fan->part(st); });
}

}  // namespace wharf::broker
