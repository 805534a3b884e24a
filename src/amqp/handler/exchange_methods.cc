// exchange.declare / delete / bind / unbind: registry calls, answered at
// once (the registry is shared by all shards and safe to call from here).
#include <algorithm>

#include "amqp/handler/session.h"
#include "amqp/handler/value_convert.h"

namespace wharf::amqp {

namespace routing = broker::routing;
using Id = msg::MethodId;

namespace {

// exchange.bind / unbind with argument x-destination = "kafka-topic" binds
// the source exchange to the Kafka topic named by `destination` (Wharf's
// extension; docs/amqp-streams.md). The argument is removed: it says what
// the destination is, it is not part of the binding.
bool takes_topic(FieldTable& args) {
  auto& e = args.entries;
  auto it = std::find_if(e.begin(), e.end(), [](const FieldEntry& f) { return f.name == "x-destination"; });
  if (it == e.end()) return false;
  const auto* s = it->value.get_if<std::string>();
  if (!s || *s != "kafka-topic") return false;
  e.erase(it);
  return true;
}

}  // namespace

void Session::exchange_declare(Channel&, ChannelContext& ch, msg::ExchangeDeclare& m) {
  routing::ExchangeDef def;
  def.name = m.exchange;
  if (!m.passive) {
    if (!permitted(ch, routing::Perm::kConfigure, "exchange", m.exchange, Id::ExchangeDeclare)) return;
    def.arguments = to_routing(m.arguments);
    // "x-delayed-message" (with x-delayed-type) as the RabbitMQ plugin.
    auto type = routing::parse_declared_type(m.type, def.arguments);
    if (!type.ok()) return fail(ch, type.error(), Id::ExchangeDeclare);
    def.type = type->type;
    def.delayed = type->delayed;
    def.durable = m.durable;
    def.auto_delete = m.auto_delete;
    def.internal = m.internal;
  }
  auto r = registry_.declare_exchange(vhost_, def, m.passive);
  if (!r.ok()) return fail(ch, r.error(), Id::ExchangeDeclare);
  if (!m.nowait) ch.send(msg::ExchangeDeclareOk{});
}

void Session::exchange_delete(Channel&, ChannelContext& ch, msg::ExchangeDelete& m) {
  if (!permitted(ch, routing::Perm::kConfigure, "exchange", m.exchange, Id::ExchangeDelete)) return;
  auto st = registry_.delete_exchange(vhost_, m.exchange, m.if_unused);
  // Deleting an exchange that does not exist succeeds, as in RabbitMQ.
  if (!st.ok() && st.error().code != Errc::kNotFound) return fail(ch, st.error(), Id::ExchangeDelete);
  if (!m.nowait) ch.send(msg::ExchangeDeleteOk{});
}

void Session::exchange_bind(Channel&, ChannelContext& ch, msg::ExchangeBind& m) {
  if (takes_topic(m.arguments)) {
    if (!permitted(ch, routing::Perm::kWrite, "topic", m.destination, Id::ExchangeBind)) return;
    if (!permitted(ch, routing::Perm::kRead, "exchange", m.source, Id::ExchangeBind)) return;
    if (!broker_.topics().find(m.destination))
      return ch.fail(ReplyCode::NOT_FOUND, "no Kafka topic '" + m.destination + "'", Id::ExchangeBind);
    routing::BindingDef b{m.source, routing::DestKind::kTopic, m.destination, m.routing_key,
                          to_routing(m.arguments)};
    auto st = registry_.bind(vhost_, b, owner());
    if (!st.ok()) return fail(ch, st.error(), Id::ExchangeBind);
    if (!m.nowait) ch.send(msg::ExchangeBindOk{});
    return;
  }
  if (!permitted(ch, routing::Perm::kWrite, "exchange", m.destination, Id::ExchangeBind)) return;
  if (!permitted(ch, routing::Perm::kRead, "exchange", m.source, Id::ExchangeBind)) return;
  routing::BindingDef b{m.source, routing::DestKind::kExchange, m.destination, m.routing_key,
                        to_routing(m.arguments)};
  auto st = registry_.bind(vhost_, b, owner());
  if (!st.ok()) return fail(ch, st.error(), Id::ExchangeBind);
  if (!m.nowait) ch.send(msg::ExchangeBindOk{});
}

void Session::exchange_unbind(Channel&, ChannelContext& ch, msg::ExchangeUnbind& m) {
  bool topic = takes_topic(m.arguments);
  if (!permitted(ch, routing::Perm::kWrite, topic ? "topic" : "exchange", m.destination, Id::ExchangeUnbind))
    return;
  if (!permitted(ch, routing::Perm::kRead, "exchange", m.source, Id::ExchangeUnbind)) return;
  routing::BindingDef b{m.source, topic ? routing::DestKind::kTopic : routing::DestKind::kExchange, m.destination,
                        m.routing_key, to_routing(m.arguments)};
  auto st = registry_.unbind(vhost_, b, owner());
  if (!st.ok()) return fail(ch, st.error(), Id::ExchangeUnbind);
  if (!m.nowait) ch.send(msg::ExchangeUnbindOk{});
}

}  // namespace wharf::amqp
