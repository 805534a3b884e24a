// basic.publish: route through the registry on this shard, then store a copy
// in every queue reached, each on its own shard (posted in order, so one
// channel's messages keep their order in every queue). Confirms and returns
// as RabbitMQ sends them: an unroutable mandatory message is returned
// (312 NO_ROUTE) before it is acked; a message refused by a queue's
// x-overflow reject-publish is nacked.
//
// An exchange of type x-delayed-message with a message whose header x-delay
// is a positive integer: the message goes to the broker's delay engine
// instead (DelayHost), to be routed by that exchange x-delay ms later; its
// confirm comes once the engine holds it (durably, if persistent). No
// basic.return is sent for such a message: where it goes is decided when it
// fires. CC/BCC keys are not kept for the delayed routing.
#include "amqp/handler/message_convert.h"
#include "amqp/handler/session.h"
#include "amqp/handler/value_convert.h"
#include "base/logging.h"
#include "broker/delay_host.h"
#include "broker/stream_bridge.h"

namespace wharf::amqp {

namespace routing = broker::routing;
namespace queue = broker::queue;
using Id = msg::MethodId;

namespace {

// RabbitMQ's sender-selected distribution: "CC" and "BCC" headers (arrays
// of longstr) add routing keys; BCC is removed from the stored message.
void extra_keys(FieldTable& headers, std::vector<std::string>& keys) {
  for (auto name : {"CC", "BCC"}) {
    FieldValue* v = headers.find(name);
    if (!v) continue;
    if (const auto* a = v->get_if<FieldArray>())
      for (const auto& e : a->values)
        if (const auto* s = e.get_if<std::string>()) keys.push_back(*s);
  }
  auto& e = headers.entries;
  e.erase(std::remove_if(e.begin(), e.end(), [](const FieldEntry& f) { return f.name == "BCC"; }), e.end());
}

}  // namespace

void Session::publish(Channel& c, ChannelContext& ch, Command&& cmd) {
  auto& m = std::get<msg::BasicPublish>(cmd.method);
  if (m.immediate) return conn_.close(ReplyCode::NOT_IMPLEMENTED, "immediate=true", Id::BasicPublish);
  if (!permitted(ch, routing::Perm::kWrite, "exchange", m.exchange, Id::BasicPublish)) return;
  msg::BasicProperties props = std::move(cmd.header->properties);
  if (props.user_id && *props.user_id != user_)
    return ch.fail(ReplyCode::PRECONDITION_FAILED,
                   "user_id property set to '" + *props.user_id + "' but authenticated user was '" + user_ + "'",
                   Id::BasicPublish);

  routing::Table headers;
  const routing::Table* hp = nullptr;
  std::vector<std::string> cc;
  if (props.headers && !props.headers->empty()) {
    extra_keys(*props.headers, cc);
    headers = to_routing(*props.headers);
    hp = &headers;
  }
  status st;
  if (cc.empty()) {
    st = registry_.route(vhost_, m.exchange, m.routing_key, hp, &route_);
  } else {
    std::vector<std::string_view> keys{m.routing_key};
    for (const auto& k : cc) keys.push_back(k);
    st = registry_.route(vhost_, m.exchange, keys, hp, &route_);
  }
  if (!st.ok()) return fail(ch, st.error(), Id::BasicPublish);

  int64_t delay_ms = 0;
  if (route_.delayed_exchange() && hp)
    if (const routing::Value* d = hp->find("x-delay"))
      if (auto v = d->as_int(); v && *v > 0) delay_ms = *v;

  auto made = message_of(m.exchange, m.routing_key, std::move(props), std::move(cmd.body));
  if (!made.ok()) return fail(ch, made.error(), Id::BasicPublish);
  auto message = std::make_shared<const queue::Message>(std::move(*made));

  if (delay_ms > 0) {
    if (c.tx) {
      TxOp op;
      op.kind = TxOp::kPublish;
      op.message = std::move(message);
      op.delay_ms = delay_ms;
      c.tx_ops.push_back(std::move(op));
      return;
    }
    PartDone part_done;
    if (c.confirm) {
      uint64_t seq = c.confirms->add(1);
      part_done = [tracker = std::weak_ptr<ConfirmTracker>(c.confirms), seq](bool ok) {
        if (auto t = tracker.lock()) t->outcome(seq, ok);
      };
    }
    return schedule_delayed(*message, delay_ms, std::move(part_done));
  }

  auto& queues = pub_queues_;
  auto& topics = pub_topics_;
  queues.clear();
  topics.clear();
  for (const auto& d : route_.destinations())
    (d.kind == routing::DestKind::kQueue ? queues : topics).push_back(d.name);

  if (c.tx) {
    TxOp op;
    op.kind = TxOp::kPublish;
    op.message = std::move(message);
    op.queues = queues;
    op.topics = topics;
    op.mandatory = m.mandatory;
    c.tx_ops.push_back(std::move(op));
    return;
  }
  if (queues.empty() && topics.empty() && m.mandatory) send_return(ch, *message);
  PartDone part_done;
  if (c.confirm) {
    uint64_t seq = c.confirms->add(int(queues.size() + topics.size()));
    part_done = [tracker = std::weak_ptr<ConfirmTracker>(c.confirms), seq](bool ok) {
      if (auto t = tracker.lock()) t->outcome(seq, ok);
    };
  }
  store(c, message, queues, topics, std::move(part_done));
}

void Session::schedule_delayed(const queue::Message& m, int64_t delay_ms, PartDone part_done) {
  broker::delay::DelayTarget target{vhost_, m.exchange, m.routing_key, ""};
  broker::delay::Schedule s;
  s.delay_ms = delay_ms;
  // Credit flow as for stores (below): the engine's shard must not collect
  // an unbounded pile of posted schedules from a fast publisher.
  inflight_->stores.fetch_add(1, std::memory_order_relaxed);
  broker_.delays().schedule(
      std::move(target), m, std::move(s),
      [part_done = std::move(part_done), inflight = inflight_, weak = weak_from_this()](status st) {
        if (!st.ok()) WLOG_WARN("amqp", "delayed publish failed: {}", st.error().message);
        if (part_done) part_done(st.ok());
        // `done` runs on this session's shard.
        if (inflight->stores.fetch_sub(1, std::memory_order_acq_rel) - 1 <= Inflight::kLow &&
            inflight->throttled.exchange(false)) {
          if (auto self = weak.lock(); self && !self->closed_) self->conn_.throttle(false);
        }
      });
  if (inflight_->stores.load(std::memory_order_relaxed) > Inflight::kHigh && !inflight_->throttled.load()) {
    conn_.throttle(true);
    inflight_->throttled.store(true);
    if (inflight_->stores.load() <= Inflight::kLow && inflight_->throttled.exchange(false)) conn_.throttle(false);
  }
}

void Session::send_return(ChannelContext& ch, const queue::Message& m) {
  ch.send_content(msg::BasicReturn{uint16_t(ReplyCode::NO_ROUTE), "NO_ROUTE", m.exchange, m.routing_key},
                  properties_of(m), m.body.bytes());
}

namespace {

// Stores `m` in queue `name`, on that queue's shard; `part_done` (may be
// null) runs at home with the outcome.
void store_one(broker::Broker& b, const std::string& vhost, const std::string& name,
               const std::shared_ptr<const queue::Message>& m, const Session::PartDone& part_done, ShardId home,
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
    return broker::append_to_topic(b, name, m, std::move(confirmed));
  }
  // Refused by x-overflow, or the queue went away after routing (the
  // message is then dropped as if it had not been routed there).
  bool ok = !r.ok() && r.error().code == Errc::kNotFound;
  if (confirmed) confirmed(ok ? status{} : status(make_error(Errc::kPreconditionFailed, "rejected")));
}

}  // namespace

void Session::store(Channel&, const std::shared_ptr<const queue::Message>& m, const std::vector<std::string>& queues,
                    const std::vector<std::string>& topics, PartDone part_done) {
  for (const auto& name : queues) {
    ShardId s = host_.shard_of(vhost_, name);
    if (s == home_) {
      store_one(broker_, vhost_, name, m, part_done, home_, true);
      continue;
    }
    inflight_->stores.fetch_add(1, std::memory_order_relaxed);
    shards_.post(s, [b = &broker_, vhost = vhost_, name, m, part_done, home = home_, inflight = inflight_,
                     weak = weak_from_this()] {
      store_one(*b, vhost, name, m, part_done, home, false);
      if (inflight->stores.fetch_sub(1, std::memory_order_acq_rel) - 1 <= Inflight::kLow &&
          inflight->throttled.exchange(false)) {
        b->shards().post(home, [weak] {
          if (auto self = weak.lock(); self && !self->closed_) self->conn_.throttle(false);
        });
      }
    });
  }
  // Credit flow: a publisher faster than its queues' shards would pile up
  // posted stores without bound; stop reading it until they caught up.
  if (inflight_->stores.load(std::memory_order_relaxed) > Inflight::kHigh && !inflight_->throttled.load()) {
    conn_.throttle(true);
    inflight_->throttled.store(true);
    // They may all have finished meanwhile (then nobody else would resume).
    if (inflight_->stores.load() <= Inflight::kLow && inflight_->throttled.exchange(false)) conn_.throttle(false);
  }
  for (const auto& topic : topics) {
    std::function<void(status)> confirmed;
    if (part_done) confirmed = [part_done](status st) { part_done(st.ok()); };
    broker::append_to_topic(broker_, topic, m, std::move(confirmed));
  }
}

}  // namespace wharf::amqp
