// basic.publish: route through the registry on this shard, then store a copy
// in every queue reached, each on its own shard (posted in order, so one
// channel's messages keep their order in every queue). Confirms and returns
// as RabbitMQ sends them: an unroutable mandatory message is returned
// (312 NO_ROUTE) before it is acked; a message refused by a queue's
// x-overflow reject-publish is nacked.
#include "amqp/handler/message_convert.h"
#include "amqp/handler/session.h"
#include "amqp/handler/value_convert.h"
#include "base/logging.h"

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

  auto made = message_of(m.exchange, m.routing_key, std::move(props), std::move(cmd.body));
  if (!made.ok()) return fail(ch, made.error(), Id::BasicPublish);
  auto message = std::make_shared<const queue::Message>(std::move(*made));

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

void Session::send_return(ChannelContext& ch, const queue::Message& m) {
  ch.send_content(msg::BasicReturn{uint16_t(ReplyCode::NO_ROUTE), "NO_ROUTE", m.exchange, m.routing_key},
                  properties_of(m), m.body.bytes());
}

void Session::store(Channel&, const std::shared_ptr<const queue::Message>& m, const std::vector<std::string>& queues,
                    const std::vector<std::string>& topics, PartDone part_done) {
  fanout_.store(vhost_, m, queues, topics, std::move(part_done));
}

}  // namespace wharf::amqp
