#include "broker/store_fanout.h"

#include "base/logging.h"
#include "broker/broker.h"
#include "broker/delay_host.h"
#include "broker/queue_host.h"
#include "broker/stream_bridge.h"

namespace wharf::broker {

namespace {

// Stores `m` in queue `name`, on that queue's shard; `part_done` (may be
// null) runs at home with the outcome.
void store_one(Broker& b, const std::string& vhost, const std::string& name,
               const std::shared_ptr<const queue::Message>& m, const StoreFanout::PartDone& part_done, ShardId home,
               bool local) {
  std::function<void(status)> confirmed;
  if (part_done) {
    confirmed = [part_done, shards = &b.shards(), home, local](status st) {
      if (local) return part_done(st.ok());
      shards->post(home, [part_done, ok = st.ok()] { part_done(ok); });
    };
  }
  auto r = b.queues().publish(vhost, name, *m, confirmed);
  if (r.ok() && *r == queue::PublishResult::kAccepted) return;
  if (!r.ok() && r.error().code == Errc::kUnsupported) {
    // A stream queue: the message goes to its Kafka topic.
    return append_to_topic(b, name, m, std::move(confirmed));
  }
  // Refused by x-overflow, or the queue went away after routing.
  bool ok = !r.ok() && r.error().code == Errc::kNotFound;
  if (confirmed) confirmed(ok ? status{} : status(make_error(Errc::kPreconditionFailed, "rejected")));
}

}  // namespace

StoreFanout::StoreFanout(Broker& broker, ShardId home, Throttle throttle)
    : broker_(broker), home_(home), state_(std::make_shared<State>()) {
  state_->throttle = std::move(throttle);
}

StoreFanout::~StoreFanout() { state_->throttle = nullptr; }

void StoreFanout::store(const std::string& vhost, const std::shared_ptr<const queue::Message>& m,
                        const std::vector<std::string>& queues, const std::vector<std::string>& topics,
                        PartDone part_done) {
  auto& host = broker_.queues();
  for (const auto& name : queues) {
    ShardId s = host.shard_of(vhost, name);
    if (s == home_) {
      store_one(broker_, vhost, name, m, part_done, home_, true);
      continue;
    }
    state_->stores.fetch_add(1, std::memory_order_relaxed);
    broker_.shards().post(s, [b = &broker_, vhost, name, m, part_done, home = home_, state = state_] {
      store_one(*b, vhost, name, m, part_done, home, false);
      if (state->stores.fetch_sub(1, std::memory_order_acq_rel) - 1 <= kLow && state->throttled.exchange(false))
        b->shards().post(home, [state] {
          if (state->throttle) state->throttle(false);
        });
    });
  }
  check_high();
  for (const auto& topic : topics) {
    std::function<void(status)> confirmed;
    if (part_done) confirmed = [part_done](status st) { part_done(st.ok()); };
    append_to_topic(broker_, topic, m, std::move(confirmed));
  }
}

void StoreFanout::check_high() {
  if (state_->stores.load(std::memory_order_relaxed) > kHigh && !state_->throttled.load()) {
    state_->throttle(true);
    state_->throttled.store(true);
    // They may all have finished meanwhile (then nobody else would resume).
    if (state_->stores.load() <= kLow && state_->throttled.exchange(false)) state_->throttle(false);
  }
}

void StoreFanout::schedule(delay::DelayTarget t, const queue::Message& m, delay::Schedule s, PartDone part_done) {
  state_->stores.fetch_add(1, std::memory_order_relaxed);
  // `done` runs on this (the home) shard.
  broker_.delays().schedule(std::move(t), m, std::move(s), [part_done = std::move(part_done), state = state_](status st) {
    if (!st.ok()) WLOG_WARN("broker", "scheduling a delayed message failed: {}", st.error().message);
    if (part_done) part_done(st.ok());
    if (state->stores.fetch_sub(1, std::memory_order_acq_rel) - 1 <= kLow && state->throttled.exchange(false) &&
        state->throttle)
      state->throttle(false);
  });
  check_high();
}

}  // namespace wharf::broker
