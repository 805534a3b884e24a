// queue.declare / bind / unbind / purge / delete. Definitions go to the
// registry here, on the channel's shard; the live queue (message counts,
// purge, removal) is reached on its own shard, which makes the channel busy
// until the answer is back (session.h, "Ordering").
#include "amqp/handler/session.h"
#include "amqp/handler/value_convert.h"
#include "base/logging.h"
#include "broker/virtual_topics.h"

namespace wharf::amqp {

namespace routing = broker::routing;
namespace queue = broker::queue;
using Id = msg::MethodId;

namespace {

struct Counts {
  status st;
  uint32_t messages = 0;
  uint32_t consumers = 0;
};

uint32_t clamp32(uint64_t n) { return n > UINT32_MAX ? UINT32_MAX : uint32_t(n); }

}  // namespace

void Session::queue_declare(Channel& c, ChannelContext& ch, msg::QueueDeclare& m) {
  if (m.passive && m.queue.empty() && !c.last_queue.empty()) m.queue = c.last_queue;
  if (!m.passive && !m.queue.empty() &&
      !permitted(ch, routing::Perm::kConfigure, "queue", m.queue, Id::QueueDeclare))
    return;
  routing::QueueDeclare d;
  d.name = m.queue;
  d.passive = m.passive;
  d.durable = m.durable;
  d.exclusive = m.exclusive;
  d.auto_delete = m.auto_delete;
  d.arguments = to_routing(m.arguments);
  auto r = registry_.declare_queue(vhost_, d, owner());
  if (!r.ok()) return fail(ch, r.error(), Id::QueueDeclare);
  routing::QueueDef def = std::move(r->queue);
  bool created = r->created;
  if (m.queue.empty() && !m.passive && !permitted(ch, routing::Perm::kConfigure, "queue", def.name, Id::QueueDeclare)) {
    // A server-named queue is checked under its generated name, as
    // RabbitMQ does; refused, it must not stay behind.
    registry_.remove_queue(vhost_, def.name);
    return;
  }
  c.last_queue = def.name;
  if (def.queue_type() == "stream") return stream_declared(c, ch, def, m.nowait, m.passive);

  if (created) {
    // ActiveMQ's virtual topics, as for STOMP (broker/virtual_topics.h).
    if (auto st = broker::bind_virtual_topic(registry_, vhost_, def.name); !st.ok())
      WLOG_ERROR("amqp", "binding virtual topic queue '{}': {}", def.name, st.error().message);
    // A new queue is empty and unused: declare-ok needs nothing from its
    // shard. The open is posted there; anything this channel sends the
    // queue later is posted after it (FIFO between shards), and a failed
    // open is retried from the definition by QueueHost::get().
    shards_.run_at(host_.shard_of(vhost_, def.name), [host = &host_, vhost = vhost_, def] {
      auto q = host->open(vhost, def);
      if (!q.ok()) WLOG_ERROR("amqp", "opening queue '{}' in vhost '{}': {}", def.name, vhost, q.error().message);
    });
    if (!m.nowait) ch.send(msg::QueueDeclareOk{def.name, 0, 0});
    return;
  }

  set_busy(c);
  auto sess = c.session;
  uint16_t cid = c.id;
  bool nowait = m.nowait;
  std::string vhost = vhost_;
  on_shard(
      host_.shard_of(vhost_, def.name),
      [host = &host_, vhost, def] {
        Counts out;
        auto q = host->open(vhost, def);
        if (!q.ok()) {
          out.st = q.error();
          return out;
        }
        out.messages = clamp32((*q)->message_count());
        out.consumers = uint32_t((*q)->consumer_count());
        return out;
      },
      [this, cid, sess, nowait, name = def.name, created](Counts out) {
        if (Channel* c = live(cid, sess)) {
          auto ch = c->ctx.lock();
          if (!out.st.ok()) {
            if (created) registry_.remove_queue(vhost_, name);
            fail(*ch, out.st.error(), Id::QueueDeclare);
          } else if (!nowait) {
            ch->send(msg::QueueDeclareOk{name, out.messages, out.consumers});
          }
        }
        resume(cid);
      });
}

void Session::queue_bind(Channel& c, ChannelContext& ch, msg::QueueBind& m) {
  // RabbitMQ: an empty queue name means the last declared queue, and with it
  // an empty routing key means that queue's name.
  if (m.queue.empty() && m.routing_key.empty()) m.routing_key = c.last_queue;
  if (!resolve_queue(c, ch, m.queue, Id::QueueBind)) return;
  if (!permitted(ch, routing::Perm::kWrite, "queue", m.queue, Id::QueueBind)) return;
  if (!permitted(ch, routing::Perm::kRead, "exchange", m.exchange, Id::QueueBind)) return;
  routing::BindingDef b{m.exchange, routing::DestKind::kQueue, m.queue, m.routing_key, to_routing(m.arguments)};
  auto st = registry_.bind(vhost_, b, owner());
  if (!st.ok()) return fail(ch, st.error(), Id::QueueBind);
  if (!m.nowait) ch.send(msg::QueueBindOk{});
}

void Session::queue_unbind(Channel& c, ChannelContext& ch, msg::QueueUnbind& m) {
  if (m.queue.empty() && m.routing_key.empty()) m.routing_key = c.last_queue;
  if (!resolve_queue(c, ch, m.queue, Id::QueueUnbind)) return;
  if (!permitted(ch, routing::Perm::kWrite, "queue", m.queue, Id::QueueUnbind)) return;
  if (!permitted(ch, routing::Perm::kRead, "exchange", m.exchange, Id::QueueUnbind)) return;
  routing::BindingDef b{m.exchange, routing::DestKind::kQueue, m.queue, m.routing_key, to_routing(m.arguments)};
  auto st = registry_.unbind(vhost_, b, owner());
  if (!st.ok()) return fail(ch, st.error(), Id::QueueUnbind);
  ch.send(msg::QueueUnbindOk{});
}

void Session::queue_purge(Channel& c, ChannelContext& ch, msg::QueuePurge& m) {
  if (!resolve_queue(c, ch, m.queue, Id::QueuePurge)) return;
  if (!permitted(ch, routing::Perm::kRead, "queue", m.queue, Id::QueuePurge)) return;
  auto def = registry_.access_queue(vhost_, m.queue, owner());
  if (!def.ok()) return fail(ch, def.error(), Id::QueuePurge);
  if (def->queue_type() == "stream")
    return conn_.close(ReplyCode::NOT_IMPLEMENTED,
                       "queue.purge not supported by stream queues " + routing::queue_phrase(vhost_, m.queue),
                       Id::QueuePurge);
  set_busy(c);
  auto sess = c.session;
  uint16_t cid = c.id;
  bool nowait = m.nowait;
  on_shard(
      host_.shard_of(vhost_, m.queue),
      [host = &host_, vhost = vhost_, name = m.queue]() -> result<uint64_t> {
        auto q = host->get(vhost, name);
        if (!q.ok()) return q.error();
        return (*q)->purge();
      },
      [this, cid, sess, nowait](result<uint64_t> r) {
        if (Channel* c = live(cid, sess)) {
          auto ch = c->ctx.lock();
          if (!r.ok()) fail(*ch, r.error(), Id::QueuePurge);
          else if (!nowait) ch->send(msg::QueuePurgeOk{clamp32(*r)});
        }
        resume(cid);
      });
}

void Session::queue_delete(Channel& c, ChannelContext& ch, msg::QueueDelete& m) {
  if (!resolve_queue(c, ch, m.queue, Id::QueueDelete)) return;
  if (!permitted(ch, routing::Perm::kConfigure, "queue", m.queue, Id::QueueDelete)) return;
  set_busy(c);
  auto sess = c.session;
  uint16_t cid = c.id;
  bool nowait = m.nowait;
  on_shard(
      host_.shard_of(vhost_, m.queue),
      [host = &host_, vhost = vhost_, name = m.queue, if_unused = m.if_unused, if_empty = m.if_empty,
       owner = owner()] { return host->remove(vhost, name, if_unused, if_empty, owner); },
      [this, cid, sess, nowait](result<uint64_t> r) {
        if (Channel* c = live(cid, sess)) {
          auto ch = c->ctx.lock();
          // Deleting a queue that does not exist succeeds, as in RabbitMQ.
          if (!r.ok() && r.error().code != Errc::kNotFound) fail(*ch, r.error(), Id::QueueDelete);
          else if (!nowait) ch->send(msg::QueueDeleteOk{r.ok() ? clamp32(*r) : 0});
        }
        resume(cid);
      });
}

}  // namespace wharf::amqp
