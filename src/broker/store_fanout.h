// StoreFanout: stores one routed message in every queue and Kafka topic it
// reached, each on its own shard, for one client connection (an AMQP
// connection, a STOMP connection). Shared by the front ends so that both
// keep the same ordering, confirm and credit-flow rules.
//
// Ordering: stores for other shards are posted in call order, and Shards
// keep FIFO order between two shards, so one connection's messages keep
// their order in every queue.
//
// Outcome: `part_done` (may be null) runs at home once per destination, with
// true when the destination has the message as durable as it promises (see
// QueueHost::publish), false when it refused it (x-overflow reject-publish)
// or failed. A queue deleted after routing counts as done (the message is
// dropped as if it had not been routed there, as RabbitMQ does).
//
// Credit flow: a client faster than its queues' shards would pile up posted
// stores without bound. Past kHigh stores in flight, `throttle(true)` asks
// the front end to stop reading the client; once they drain to kLow,
// `throttle(false)` runs at home (posted; never after this object is
// destroyed).
//
// Thread rules: store() on the home shard only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ids.h"
#include "broker/delay/schedule.h"
#include "broker/queue/message.h"

namespace wharf::broker {

class Broker;

class StoreFanout {
 public:
  using PartDone = std::function<void(bool ok)>;
  using Throttle = std::function<void(bool stop_reading)>;

  static constexpr int64_t kHigh = 50000, kLow = 25000;

  StoreFanout(Broker& broker, ShardId home, Throttle throttle);
  ~StoreFanout();  // on the home shard
  StoreFanout(const StoreFanout&) = delete;
  StoreFanout& operator=(const StoreFanout&) = delete;

  void store(const std::string& vhost, const std::shared_ptr<const queue::Message>& m,
             const std::vector<std::string>& queues, const std::vector<std::string>& topics, PartDone part_done);

  // Hands `m` to the delay engine (Broker::delays()) instead, to be routed
  // from `t` when `s` says; the same credit flow. `part_done` runs at home
  // once the engine holds it (after the fsync for a persistent message), or
  // with false if it refused it.
  void schedule(delay::DelayTarget t, const queue::Message& m, delay::Schedule s, PartDone part_done);

  // Stores posted to other shards and not done yet.
  int64_t in_flight() const { return state_->stores.load(std::memory_order_relaxed); }

 private:
  // Shared with the shards running the stores.
  struct State {
    std::atomic<int64_t> stores{0};
    std::atomic<bool> throttled{false};
    Throttle throttle;  // home shard only; cleared by ~StoreFanout
  };

  // Past kHigh in flight: asks the front end to stop reading.
  void check_high();

  Broker& broker_;
  ShardId home_;
  std::shared_ptr<State> state_;
};

}  // namespace wharf::broker
