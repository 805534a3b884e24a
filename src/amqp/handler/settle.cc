// basic.ack / nack / reject / recover and basic.get. The channel maps its
// delivery tags to (queue, the queue's own tag); a multiple ack becomes, per
// queue, one multiple ack up to the highest queue tag it covers. That is
// exact because a queue numbers its deliveries in order and they reach the
// channel in that order (FIFO between two shards).
#include "amqp/handler/message_convert.h"
#include "amqp/handler/session.h"

namespace wharf::amqp {

namespace routing = broker::routing;
namespace queue = broker::queue;
using Id = msg::MethodId;

namespace {

void unknown_tag(ChannelContext& ch, uint64_t tag, msg::MethodId cause) {
  ch.fail(ReplyCode::PRECONDITION_FAILED, "unknown delivery tag " + std::to_string(tag), cause);
}

}  // namespace

bool Session::settle(Channel& c, ChannelContext& ch, bool ack, uint64_t tag, bool multiple, bool requeue,
                     msg::MethodId cause) {
  // Per queue slot: the highest queue tag (multiple) or each tag (single).
  std::map<uint32_t, std::vector<queue::DeliveryTag>> per_queue;
  if (multiple) {
    auto end = tag == 0 ? c.unacked.end() : c.unacked.upper_bound(tag);
    if (tag != 0 && c.unacked.begin() == end) {
      unknown_tag(ch, tag, cause);
      return false;
    }
    for (auto it = c.unacked.begin(); it != end; ++it) {
      auto& v = per_queue[it->second.queue];
      // A stream reader counts credit per delivery: it needs every tag.
      if (v.empty() || it->second.queue == kStreamSlot) v.push_back(it->second.qtag);
      else v[0] = std::max(v[0], it->second.qtag);
    }
    c.unacked.erase(c.unacked.begin(), end);
  } else {
    auto it = c.unacked.find(tag);
    if (it == c.unacked.end()) {
      unknown_tag(ch, tag, cause);
      return false;
    }
    per_queue[it->second.queue].push_back(it->second.qtag);
    c.unacked.erase(it);
  }
  auto sess = c.session;
  for (auto& [qi, tags] : per_queue) {
    if (qi == kStreamSlot) {
      stream_settled(c, tags);
      continue;
    }
    const QueueSlot& q = c.queues[qi];
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, sess, tags = std::move(tags), ack,
                             multiple, requeue] {
      auto live = host->get(vhost, name);
      if (!live.ok()) return;
      for (auto t : tags) {
        if (ack) (void)(*live)->ack(sess, t, multiple);
        else (void)(*live)->reject(sess, t, multiple, requeue);
      }
    });
  }
  return true;
}

void Session::basic_ack(Channel& c, ChannelContext& ch, uint64_t tag, bool multiple, msg::MethodId cause) {
  if (c.tx) {
    if (!multiple && !c.unacked.count(tag)) return unknown_tag(ch, tag, cause);
    TxOp op;
    op.kind = TxOp::kAck;
    op.tag = tag;
    op.multiple = multiple;
    c.tx_ops.push_back(std::move(op));
    return;
  }
  settle(c, ch, true, tag, multiple, false, cause);
}

void Session::basic_reject(Channel& c, ChannelContext& ch, uint64_t tag, bool multiple, bool requeue,
                           msg::MethodId cause) {
  if (c.tx) {
    if (!multiple && !c.unacked.count(tag)) return unknown_tag(ch, tag, cause);
    TxOp op;
    op.kind = TxOp::kNack;
    op.tag = tag;
    op.multiple = multiple;
    op.requeue = requeue;
    c.tx_ops.push_back(std::move(op));
    return;
  }
  settle(c, ch, false, tag, multiple, requeue, cause);
}

void Session::basic_recover(Channel& c, ChannelContext& ch, bool reply) {
  // requeue=false ("redeliver to the same consumer") is served like
  // requeue=true, as RabbitMQ does: the messages go back to their queues.
  auto sess = c.session;
  std::vector<uint32_t> used;
  for (const auto& [_, u] : c.unacked)
    if (used.empty() || used.back() != u.queue) used.push_back(u.queue);
  std::sort(used.begin(), used.end());
  used.erase(std::unique(used.begin(), used.end()), used.end());
  std::vector<queue::DeliveryTag> stream_tags;
  for (const auto& [_, u] : c.unacked)
    if (u.queue == kStreamSlot) stream_tags.push_back(u.qtag);
  c.unacked.clear();
  for (uint32_t qi : used) {
    if (qi == kStreamSlot) continue;
    const QueueSlot& q = c.queues[qi];
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, sess] {
      auto live = host->get(vhost, name);
      if (live.ok()) (*live)->recover(sess);
    });
  }
  if (!stream_tags.empty()) stream_settled(c, stream_tags);
  if (reply) ch.send(msg::BasicRecoverOk{});
}

void Session::basic_get(Channel& c, ChannelContext& ch, msg::BasicGet& m) {
  if (!resolve_queue(c, ch, m.queue, Id::BasicGet)) return;
  if (!permitted(ch, routing::Perm::kRead, "queue", m.queue, Id::BasicGet)) return;
  auto def = registry_.access_queue(vhost_, m.queue, owner());
  if (!def.ok()) return fail(ch, def.error(), Id::BasicGet);
  if (def->queue_type() == "stream")  // RabbitMQ's answer, a connection error
    return conn_.close(ReplyCode::NOT_IMPLEMENTED,
                       "basic.get not supported by stream queues " + routing::queue_phrase(vhost_, m.queue),
                       Id::BasicGet);
  uint32_t qi = queue_slot(c, m.queue);
  struct Got {
    status st;
    std::optional<queue::Delivery> d;
    uint64_t left = 0;
  };
  set_busy(c);
  uint16_t cid = c.id;
  auto sess = c.session;
  bool no_ack = m.no_ack;
  on_shard(
      c.queues[qi].shard,
      [host = &host_, vhost = vhost_, name = m.queue, sess, no_ack] {
        Got g;
        auto q = host->get(vhost, name, /*use=*/true);
        if (!q.ok()) {
          g.st = q.error();
          return g;
        }
        auto r = (*q)->get(sess, no_ack);
        if (!r.ok()) g.st = r.error();
        else g.d = std::move(*r);
        g.left = (*q)->message_count();
        return g;
      },
      [this, cid, sess, qi, no_ack](Got g) {
        if (Channel* c = live(cid, sess)) {
          auto ch = c->ctx.lock();
          if (!g.st.ok()) {
            fail(*ch, g.st.error(), Id::BasicGet);
          } else if (!g.d) {
            ch->send(msg::BasicGetEmpty{});
          } else {
            uint64_t t = c->next_tag++;
            if (!no_ack) c->unacked.emplace(t, Unacked{qi, g.d->tag});
            const auto& m = g.d->message;
            ch->send_content(msg::BasicGetOk{t, g.d->redelivered, m.exchange, m.routing_key,
                                             uint32_t(std::min<uint64_t>(g.left, UINT32_MAX))},
                             properties_of(m), m.body.bytes());
          }
        } else if (g.d && !no_ack) {
          // The channel closed meanwhile; its session close requeues the message.
        }
        resume(cid);
      });
}

}  // namespace wharf::amqp
