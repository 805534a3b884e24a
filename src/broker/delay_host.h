// DelayHost: the broker's one scheduled-delivery engine (broker/delay/
// engine.h), its data in <data-dir>/delayed/, on shard 0, wired to the
// shard's Flusher (group commit), a steady_timer (wake-ups) and the routing
// and queue path (firing).
//
// Front ends call schedule(): AMQP for a publish with x-delay to an exchange
// of type x-delayed-message, STOMP for a SEND with AMQ_SCHEDULED_DELAY /
// _PERIOD / _REPEAT / _CRON (docs/scheduled-delivery.md).
//
// Firing. When an entry is due, its message is delivered as if it were
// published at that moment: to DelayTarget::queue directly, or through
// DelayTarget::exchange with DelayTarget::routing_key (the exchange's
// bindings as they are then; an x-delayed-message exchange routes as its
// x-delayed-type), into queues on their shards and Kafka topics. The entry
// counts as fired once every copy is stored as durably as the message asks
// (publish confirms of the queues). A target that no longer exists, or that
// refuses the message (x-overflow reject-publish), drops the message (as an
// unroutable publish). A storage error retries the delivery later.
//
// Thread rules: schedule() from any shard thread; open() and shutdown() on
// the main thread with shards running; engine() only on shard().
#pragma once

#include <functional>
#include <memory>

#include <asio.hpp>

#include "base/ids.h"
#include "base/result.h"
#include "broker/delay/engine.h"
#include "broker/routing/route_result.h"

namespace wharf::broker {

class Broker;

class DelayHost {
 public:
  explicit DelayHost(Broker& broker);
  ~DelayHost();
  DelayHost(const DelayHost&) = delete;
  DelayHost& operator=(const DelayHost&) = delete;

  // Opens the engine (lists its slot files; overdue entries start firing).
  status open();
  // Syncs and closes the engine. Deliveries in flight are made again after
  // the next start (at-least-once).
  void shutdown();

  ShardId shard() const { return ShardId(0); }

  // Stores `m` for delivery to `t` per `s` (delay/schedule.h). `done` (may
  // be null) runs once on the calling shard: ok when accepted (a persistent
  // message: once durable, so a publisher confirm / STOMP receipt may be
  // sent), kInvalidArgument for a bad schedule (negative numbers, bad cron),
  // kShuttingDown after shutdown(). REQUIRES: on a shard thread.
  void schedule(delay::DelayTarget t, queue::Message m, delay::Schedule s, std::function<void(status)> done);

  // REQUIRES: on shard(). Null before open() and after shutdown().
  delay::Engine* engine() { return engine_.get(); }

 private:
  void fire(const delay::DelayTarget& t, const queue::Message& m, delay::FireDone done);
  void wake_at(int64_t at_ms);

  Broker& broker_;
  std::shared_ptr<delay::Engine> engine_;     // touched only on shard()
  std::unique_ptr<asio::steady_timer> timer_;  // on shard()'s io_context
  routing::RouteResult route_;                // fire()'s scratch, on shard()
};

}  // namespace wharf::broker
