// basic.qos / consume / cancel and the deliveries that follow. A consumer is
// attached paused on its queue's shard and resumed once consume-ok is
// written, so no delivery overtakes consume-ok. Deliveries are posted home
// (session.h, "Deliveries").
#include <random>

#include "amqp/handler/message_convert.h"
#include "amqp/handler/session.h"
#include "broker/selector/selector.h"

namespace wharf::amqp {

namespace routing = broker::routing;
namespace queue = broker::queue;
using Id = msg::MethodId;

namespace {

std::string random_tag() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s = "amq.ctag-";
  for (int i = 0; i < 22; ++i) s.push_back(kAlphabet[rng() % 64]);
  return s;
}

// The consume argument x-selector (a JMS message selector, text): null when
// absent; an error naming the offending position when it does not parse.
result<std::shared_ptr<const broker::selector::Selector>> selector_argument(const FieldTable& args) {
  const FieldValue* v = args.find("x-selector");
  if (!v) return std::shared_ptr<const broker::selector::Selector>();
  std::string text;
  if (const auto* s = v->get_if<std::string>()) text = *s;
  else if (const auto* b = v->get_if<ByteArray>()) text.assign(b->bytes.begin(), b->bytes.end());
  else return make_error(Errc::kInvalidArgument, "x-selector must be a string");
  auto sel = broker::selector::parse(text);
  if (!sel.ok()) return make_error(Errc::kInvalidArgument, "invalid x-selector: " + sel.error().message);
  return std::make_shared<const broker::selector::Selector>(std::move(*sel));
}

}  // namespace

void Session::basic_qos(Channel& c, ChannelContext& ch, const msg::BasicQos& m) {
  if (m.prefetch_size != 0)
    return conn_.close(ReplyCode::NOT_IMPLEMENTED, "prefetch_size!=0 (" + std::to_string(m.prefetch_size) + ")",
                       Id::BasicQos);
  if (!m.global) {
    c.prefetch = m.prefetch_count;  // for consumers created from now on
  } else {
    c.channel_prefetch = m.prefetch_count;
    if (c.pool) c.pool->set_limit(m.prefetch_count);
  }
  ch.send(msg::BasicQosOk{});
}

void Session::basic_consume(Channel& c, ChannelContext& ch, msg::BasicConsume& m) {
  if (!resolve_queue(c, ch, m.queue, Id::BasicConsume)) return;
  if (!permitted(ch, routing::Perm::kRead, "queue", m.queue, Id::BasicConsume)) return;
  auto def = registry_.access_queue(vhost_, m.queue, owner());
  if (!def.ok()) return fail(ch, def.error(), Id::BasicConsume);
  std::string tag = m.consumer_tag.empty() ? random_tag() : m.consumer_tag;
  if (c.consumers.count(tag))
    return conn_.close(ReplyCode::NOT_ALLOWED, "attempt to reuse consumer tag '" + tag + "'", Id::BasicConsume);
  auto selector = selector_argument(m.arguments);
  if (!selector.ok()) return ch.fail(ReplyCode::PRECONDITION_FAILED, selector.error().message, Id::BasicConsume);
  if (def->queue_type() == "stream") {
    if (*selector)
      return ch.fail(ReplyCode::PRECONDITION_FAILED, "x-selector is not supported on stream queues",
                     Id::BasicConsume);
    return stream_consume(c, ch, *def, m, tag);
  }

  uint32_t qi = queue_slot(c, m.queue);
  ShardId s = c.queues[qi].shard;
  Consumer k;
  k.tag = tag;
  k.queue = qi;
  k.no_ack = m.no_ack;
  c.consumers.emplace(tag, k);

  queue::ConsumerOptions o;
  o.session = c.session;
  if (const FieldValue* p = m.arguments.find("x-priority")) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) o.priority = int32_t(x);
        },
        p->v);
  }
  o.exclusive = m.exclusive;
  o.no_ack = m.no_ack;
  o.selector = std::move(*selector);
  o.prefetch = c.prefetch;
  if (c.channel_prefetch > 0) {
    if (!c.pool) c.pool = std::make_shared<queue::CreditPool>(c.channel_prefetch);
    o.pool = c.pool;
  }
  o.paused = true;
  // Credit flow towards this connection: the queue hands out at most
  // kDeliveryCredit deliveries ahead of what was written here; deliver()
  // grants more as it writes them.
  o.credit = kDeliveryCredit;
  std::weak_ptr<Session> weak = weak_from_this();
  broker::Shards* shards = &shards_;
  ShardId home = home_;
  bool local = s == home_;
  uint16_t cid = c.id;
  auto sess = c.session;
  std::string name = m.queue;
  o.deliver = [weak, shards, home, local, cid, sess, tag, name](queue::Delivery&& d) {
    if (local) {
      if (auto self = weak.lock()) self->deliver(cid, sess, tag, name, std::move(d));
      return;
    }
    shards->post(home, [weak, cid, sess, tag, name, d = std::move(d)]() mutable {
      if (auto self = weak.lock()) self->deliver(cid, sess, tag, name, std::move(d));
    });
  };
  o.on_cancel = [weak, shards, home, cid, sess, tag] {
    shards->post(home, [weak, cid, sess, tag] {
      if (auto self = weak.lock()) self->queue_cancelled(cid, sess, tag);
    });
  };

  set_busy(c);
  bool nowait = m.nowait;
  on_shard(
      s,
      [host = &host_, vhost = vhost_, name, o = std::move(o)]() mutable -> result<queue::ConsumerId> {
        auto q = host->get(vhost, name, /*use=*/true);
        if (!q.ok()) return q.error();
        auto r = (*q)->attach(std::move(o));
        if (!r.ok() && r.error().code == Errc::kResourceLocked)
          return make_error(Errc::kAccessRefused,
                            "queue '" + name + "' in vhost '" + vhost + "' in exclusive use");
        return r;
      },
      [this, cid, sess, tag, nowait](result<queue::ConsumerId> r) {
        Channel* c = live(cid, sess);
        if (c) {
          auto ch = c->ctx.lock();
          auto it = c->consumers.find(tag);
          if (!r.ok()) {
            if (it != c->consumers.end()) c->consumers.erase(it);
            fail(*ch, r.error(), Id::BasicConsume);
          } else if (it != c->consumers.end()) {
            it->second.attached = true;
            it->second.id = *r;
            if (!nowait) ch->send(msg::BasicConsumeOk{tag});
            if (!output_paused_ && ch->flow_active()) set_consumer_paused(*c, it->second, false);
          }
        }
        resume(cid);
      });
}

void Session::set_consumer_paused(Channel& c, Consumer& k, bool paused) {
  if (!k.attached || k.stream) {
    if (k.stream) stream_pause(c, k, paused);
    return;
  }
  const QueueSlot& q = c.queues[k.queue];
  shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, id = k.id, paused] {
    auto live = host->get(vhost, name);
    if (live.ok()) (*live)->set_paused(id, paused);
  });
}

void Session::deliver(uint16_t cid, queue::SessionId sess, const std::string& tag, const std::string& queue_name,
                      queue::Delivery&& d) {
  if (closed_) return;
  Channel* c = live(cid, sess);
  if (!c) return;  // the channel closed: its session's deliveries are requeued there
  auto it = c->consumers.find(tag);
  if (it == c->consumers.end()) {
    // Cancelled while this was on its way: hand it back in its place.
    if (d.tag.value != 0)
      shards_.run_at(host_.shard_of(vhost_, queue_name),
                     [host = &host_, vhost = vhost_, queue_name, sess, qtag = d.tag] {
                       auto q = host->get(vhost, queue_name);
                       if (q.ok()) (void)(*q)->reject(sess, qtag, false, true);
                     });
    return;
  }
  Consumer& k = it->second;
  if (++k.since_grant >= kDeliveryCredit / 2 && k.attached) {
    const QueueSlot& q = c->queues[k.queue];
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, id = k.id, n = k.since_grant] {
      auto live = host->get(vhost, name);
      if (live.ok()) (void)(*live)->add_credit(id, n);
    });
    k.since_grant = 0;
  }
  uint64_t t = c->next_tag++;
  if (!k.no_ack) c->unacked.emplace(t, Unacked{k.queue, d.tag});
  auto ch = c->ctx.lock();
  ch->send_content(msg::BasicDeliver{tag, t, d.redelivered, d.message.exchange, d.message.routing_key},
                   properties_of(d.message), d.message.body.bytes());
  if (!output_paused_ && conn_.output_congested()) {
    output_paused_ = true;
    pause_consumers(true);
  }
}

void Session::pause_consumers(bool paused) {
  for (auto& [_, c] : channels_) {
    if (c->closing) continue;
    auto ch = c->ctx.lock();
    bool p = paused || !ch || !ch->flow_active();
    for (auto& [__, k] : c->consumers) set_consumer_paused(*c, k, p);
  }
}

void Session::on_writable() {
  if (closed_ || !output_paused_ || conn_.output_congested()) return;
  output_paused_ = false;
  pause_consumers(false);
}

void Session::queue_cancelled(uint16_t cid, queue::SessionId sess, const std::string& tag) {
  if (closed_) return;
  Channel* c = live(cid, sess);
  if (!c) return;
  if (c->consumers.erase(tag) == 0) return;
  if (conn_.info().client_has("consumer_cancel_notify")) c->ctx.lock()->send(msg::BasicCancel{tag, true});
}

void Session::basic_cancel(Channel& c, ChannelContext& ch, const msg::BasicCancel& m) {
  auto it = c.consumers.find(m.consumer_tag);
  if (it == c.consumers.end()) {
    // Unknown tags are not an error (the queue may have cancelled it first).
    if (!m.nowait) ch.send(msg::BasicCancelOk{m.consumer_tag});
    return;
  }
  Consumer k = it->second;
  if (k.stream) {
    c.consumers.erase(it);
    stream_cancel(c, k);
    if (!m.nowait) ch.send(msg::BasicCancelOk{m.consumer_tag});
    return;
  }
  // The consumer stays until the queue has cancelled it: deliveries already
  // on their way here (a no-ack one is settled in the queue when handed
  // out) are written before cancel-ok, as RabbitMQ allows, not lost. The
  // channel is busy meanwhile, so the tag cannot be reused before that.
  const QueueSlot& q = c.queues[k.queue];
  set_busy(c);
  uint16_t cid = c.id;
  auto sess = c.session;
  on_shard(
      q.shard,
      [host = &host_, vhost = vhost_, name = q.name, id = k.id] {
        auto live = host->get(vhost, name);
        if (live.ok()) {
          (void)(*live)->cancel(id);
          host->consumer_gone(vhost, name);
        }
        return true;
      },
      [this, cid, sess, tag = m.consumer_tag, nowait = m.nowait](bool) {
        if (Channel* c = live(cid, sess)) {
          c->consumers.erase(tag);
          if (!nowait) c->ctx.lock()->send(msg::BasicCancelOk{tag});
        }
        resume(cid);
      });
}

}  // namespace wharf::amqp
