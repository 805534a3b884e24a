// x-queue-type: stream. A stream queue is the Kafka topic of the same name:
// AMQP publishes to it append records (broker/stream_bridge.h) that Kafka
// clients read, and Kafka producers' records are read by AMQP consumers.
#include "amqp/handler/session.h"

namespace wharf::amqp {

using Id = msg::MethodId;

void Session::stream_declared(Channel& c, ChannelContext& ch, const broker::routing::QueueDef& def, bool nowait) {
  if (broker_.topics().find(def.name)) {
    if (!nowait) ch.send(msg::QueueDeclareOk{def.name, 0, 0});
    return;
  }
  set_busy(c);
  uint16_t cid = c.id;
  auto sess = c.session;
  std::weak_ptr<Session> weak = weak_from_this();
  broker_.create_topic(def.name, 1, {}, [this, weak, cid, sess, nowait, name = def.name](auto r) {
    auto self = weak.lock();
    if (!self || closed_) return;
    if (Channel* c = live(cid, sess)) {
      auto ch = c->ctx.lock();
      // Another connection may have created it first: that is fine.
      if (!r.ok() && !broker_.topics().find(name)) {
        registry_.remove_queue(vhost_, name);
        fail(*ch, r.error(), Id::QueueDeclare);
      } else if (!nowait) {
        ch->send(msg::QueueDeclareOk{name, 0, 0});
      }
    }
    resume(cid);
  });
}

void Session::stream_consume(Channel&, ChannelContext& ch, const broker::routing::QueueDef&, msg::BasicConsume&,
                             const std::string&) {
  ch.fail(ReplyCode::NOT_IMPLEMENTED, "consuming from stream queues is not implemented yet", Id::BasicConsume);
}

void Session::stream_pause(Channel&, Consumer&, bool) {}
void Session::stream_cancel(Channel&, Consumer&) {}
void Session::stream_settled(Channel&, const std::vector<broker::queue::DeliveryTag>&) {}

}  // namespace wharf::amqp
