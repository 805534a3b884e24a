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
  broker::delay::Schedule s;
  s.delay_ms = delay_ms;
  fanout_.schedule(broker::delay::DelayTarget{vhost_, m.exchange, m.routing_key, ""}, m, std::move(s),
                   std::move(part_done));
}

void Session::send_return(ChannelContext& ch, const queue::Message& m) {
  ch.send_content(msg::BasicReturn{uint16_t(ReplyCode::NO_ROUTE), "NO_ROUTE", m.exchange, m.routing_key},
                  properties_of(m), m.body.bytes());
}

void Session::store(Channel&, const std::shared_ptr<const queue::Message>& m, const std::vector<std::string>& queues,
                    const std::vector<std::string>& topics, PartDone part_done) {
  fanout_.store(vhost_, m, queues, topics, std::move(part_done));
}

}  // namespace wharf::amqp
