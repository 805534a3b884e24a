// SUBSCRIBE / UNSUBSCRIBE and the deliveries that follow (session.h,
// "Deliveries"). Point-to-point destinations consume their queue; topic and
// exchange destinations get a queue of their own bound to the exchange
// (exclusive and deleted with the connection, or durable and named after
// client-id and the subscription name for durable subscriptions).
#include "base/logging.h"
#include "stomp/message_map.h"
#include "stomp/numbers.h"
#include "stomp/session.h"

namespace wharf::stomp {

namespace queue = broker::queue;
namespace routing = broker::routing;

namespace {

std::optional<std::string_view> durable_name(const Frame& f) {
  if (auto n = f.header("activemq.subscriptionName")) return n;
  return f.header("durable-subscription-name");
}

}  // namespace

uint32_t Session::queue_slot(const std::string& name) {
  auto it = queue_index_.find(name);
  if (it != queue_index_.end()) return it->second;
  uint32_t i = uint32_t(queues_.size());
  queues_.push_back(QueueSlot{name, host_.shard_of(vhost_, name)});
  queue_index_.emplace(name, i);
  return i;
}

Session::Sub* Session::sub_by_serial(uint64_t serial) {
  auto it = sub_ids_.find(serial);
  if (it == sub_ids_.end()) return nullptr;
  auto s = subs_.find(it->second);
  if (s == subs_.end() || s->second.serial != serial) return nullptr;
  return &s->second;
}

void Session::subscribe(Frame&& f) {
  auto dtext = f.header("destination");
  if (!dtext) return protocol_error("SUBSCRIBE without destination header", {}, &f);
  auto dest = parse_destination(*dtext);
  if (!dest.ok()) return protocol_error(dest.error().message, {}, &f);
  std::string id(f.header("id").value_or(""));
  if (id.empty()) {
    if (version_ != Version::k1_0) return protocol_error("SUBSCRIBE without id header", {}, &f);
    id = std::string(*dtext);  // 1.0: the destination names the subscription
  }
  if (subs_.count(id)) return protocol_error("subscription id '" + id + "' is already in use", {}, &f);

  Sub sub;
  sub.id = id;
  sub.destination = std::string(*dtext);
  std::string_view ack = f.header("ack").value_or("auto");
  if (ack == "auto") sub.ack = AckMode::kAuto;
  else if (ack == "client") sub.ack = AckMode::kClient;
  else if (ack == "client-individual") sub.ack = AckMode::kClientIndividual;
  else return protocol_error("invalid ack mode '" + std::string(ack) + "'", {}, &f);

  std::shared_ptr<const broker::selector::Selector> filter;
  if (auto text = f.header("selector"); text && !text->empty()) {
    auto sel = broker::selector::parse(*text);
    if (!sel.ok()) return protocol_error("invalid selector: " + sel.error().message, {}, &f);
    filter = std::make_shared<const broker::selector::Selector>(std::move(*sel));
  }
  uint32_t prefetch = config_.default_prefetch;
  for (auto name : {"activemq.prefetchSize", "prefetch-count"}) {
    if (auto p = f.header(name)) {
      auto n = parse_number<uint32_t>(*p);
      if (!n) return protocol_error("invalid " + std::string(name) + " '" + std::string(*p) + "'", {}, &f);
      prefetch = *n;
      break;
    }
  }

  std::string queue_name;
  bool purge_first = false;
  switch (dest->kind) {
    case DestKind::kQueue:
      if (!ensure_queue(dest->name, f)) return;
      queue_name = dest->name;
      break;
    case DestKind::kAmqQueue:
      if (!registry_.find_queue(vhost_, dest->name).ok())
        return protocol_error("NOT_FOUND - no queue '" + dest->name + "' in vhost '" + vhost_ + "'", {}, &f);
      queue_name = dest->name;
      break;
    case DestKind::kTempQueue: {
      auto real = temp_queue(dest->name);
      if (!real.ok()) return protocol_error(real.error().message, {}, &f);
      queue_name = *real;
      break;
    }
    case DestKind::kTopic:
    case DestKind::kExchange: {
      routing::QueueDeclare d;
      uint64_t owner = routing::kNoOwner;
      if (auto dn = durable_name(f); dn && !dn->empty()) {
        if (client_id_.empty())
          return protocol_error("a durable subscription needs a client-id header on CONNECT", {}, &f);
        d.name = "stomp.durable." + client_id_ + "." + std::string(*dn);
        d.durable = true;
      } else {
        d.name = "stomp.sub-" + std::to_string(conn_id_) + "-" + std::to_string(next_serial_);
        d.exclusive = true;
        d.auto_delete = true;
        owner = conn_id_;
      }
      // A subscriber that NACKs forever does not loop forever.
      d.arguments.set("x-delivery-limit", routing::Value(int64_t(config_.max_redeliveries)));
      if (!permitted(routing::Perm::kConfigure, "queue", d.name, f)) return;
      auto r = registry_.declare_queue(vhost_, d, owner);
      if (!r.ok()) return protocol_error("cannot subscribe: " + r.error().message, {}, &f);
      routing::BindingDef b;
      b.source = dest->kind == DestKind::kTopic ? "amq.topic" : dest->name;
      b.destination = d.name;
      b.routing_key = dest->kind == DestKind::kTopic ? amqp_topic_pattern(dest->name) : dest->key;
      if (!permitted(routing::Perm::kRead, "exchange", b.source, f)) return;
      if (!r->created && d.durable) {
        // A durable subscription coming back for another topic is a new
        // subscription (JMS): the old binding goes, and so do the messages
        // kept for it.
        for (const auto& old : registry_.list_bindings(vhost_)) {
          if (old.kind != routing::DestKind::kQueue || old.destination != d.name) continue;
          if (old.source == b.source && old.routing_key == b.routing_key) continue;
          (void)registry_.unbind(vhost_, old);
          purge_first = true;
        }
      }
      if (auto st = registry_.bind(vhost_, b, owner); !st.ok()) {
        if (r->created && owner != routing::kNoOwner) registry_.remove_queue(vhost_, d.name);
        return protocol_error("cannot subscribe: " + st.error().message, {}, &f);
      }
      queue_name = d.name;
      sub.own_queue = true;
      // The subscription's own queue holds only what it gets: filter here.
      sub.filter = filter;
      filter = nullptr;
      break;
    }
  }
  if (!permitted(routing::Perm::kRead, "queue", queue_name, f)) return;
  if (auto def = registry_.find_queue(vhost_, queue_name); def.ok() && def->queue_type() == "stream") {
    if (filter) return protocol_error("selectors are not supported on stream queues", {}, &f);
    return stream_subscribe(std::move(sub), queue_name, f, prefetch);
  }
  // A queue subscription's selector is the queue's business: messages it
  // does not match stay there for other consumers.
  attach(std::move(sub), queue_name, f, prefetch, purge_first, std::move(filter));
}

void Session::attach(Sub sub, const std::string& queue_name, const Frame& f, uint32_t prefetch, bool purge_first,
                     std::shared_ptr<const broker::selector::Selector> selector) {
  sub.queue = queue_slot(queue_name);
  sub.serial = next_serial_++;
  ShardId shard = queues_[sub.queue].shard;
  uint64_t serial = sub.serial;
  std::string id = sub.id;

  queue::ConsumerOptions o;
  o.session = qsession_;
  o.no_ack = sub.ack == AckMode::kAuto;
  o.prefetch = o.no_ack ? 0 : prefetch;
  o.paused = true;
  o.credit = kDeliveryCredit;
  o.selector = std::move(selector);
  std::weak_ptr<Session> weak = weak_from_this();
  broker::Shards* shards = &shards_;
  ShardId home = home_;
  bool local = shard == home_;
  o.deliver = [weak, shards, home, local, serial](queue::Delivery&& d) {
    if (local) {
      if (auto self = weak.lock()) self->deliver(serial, std::move(d));
      return;
    }
    shards->post(home, [weak, serial, d = std::move(d)]() mutable {
      if (auto self = weak.lock()) self->deliver(serial, std::move(d));
    });
  };
  o.on_cancel = [weak, shards, home, serial] {
    shards->post(home, [weak, serial] {
      if (auto self = weak.lock()) self->queue_cancelled(serial);
    });
  };
  sub_ids_.emplace(serial, id);
  subs_.emplace(id, std::move(sub));
  std::string receipt(f.header("receipt").value_or(""));

  busy_ = true;
  shards_.call(
      shard,
      [host = &host_, vhost = vhost_, queue_name, purge_first, o = std::move(o)]() mutable -> result<queue::ConsumerId> {
        auto q = host->get(vhost, queue_name, /*use=*/true);
        if (!q.ok()) return q.error();
        if (purge_first) (void)(*q)->purge();
        return (*q)->attach(std::move(o));
      },
      [weak, serial, receipt](result<queue::ConsumerId> r) {
        auto self = weak.lock();
        if (!self || self->closed_) return;
        self->busy_ = false;
        Sub* s = self->sub_by_serial(serial);
        if (!r.ok()) {
          if (s) {
            self->sub_ids_.erase(serial);
            self->subs_.erase(s->id);
          }
          Frame about;
          if (!receipt.empty()) about.headers.emplace_back("receipt", receipt);
          self->protocol_error("cannot subscribe: " + r.error().message, {}, &about);
          return;
        }
        if (s) {
          s->attached = true;
          s->consumer = *r;
          if (!self->output_paused_) self->set_paused(*s, false);
        }
        if (!receipt.empty()) self->open_pending(receipt, 0);
        self->run_backlog();
      });
}

void Session::set_paused(Sub& s, bool paused) {
  if (!s.attached) return;
  if (s.reader) return s.reader->set_paused(paused);
  const QueueSlot& q = queues_[s.queue];
  shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, id = s.consumer, paused] {
    auto live = host->get(vhost, name);
    if (live.ok()) (void)(*live)->set_paused(id, paused);
  });
}

void Session::pause_all(bool paused) {
  for (auto& [_, s] : subs_) set_paused(s, paused);
}

void Session::deliver(uint64_t serial, queue::Delivery&& d) {
  if (closed_) return;
  Sub* s = sub_by_serial(serial);
  if (!s) {
    // Unsubscribed while this was on its way. An acked-on-hand-out (auto)
    // delivery is written (see unsubscribe()); any other goes back to the
    // queue with the UNSUBSCRIBE's cancel (requeue_unacked).
    auto it = leaving_.find(serial);
    if (it == leaving_.end() || d.tag.value != 0) return;
    s = &it->second;
  }
  const QueueSlot& q = queues_[s->queue];
  if (++s->since_grant >= kDeliveryCredit / 2) {
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, id = s->consumer, n = s->since_grant] {
      auto live = host->get(vhost, name);
      if (live.ok()) (void)(*live)->add_credit(id, n);
    });
    s->since_grant = 0;
  }
  if (s->filter && !broker::selector::evaluate(*s->filter, d.message)) {
    // Not for this subscriber: settled in its own queue.
    if (d.tag.value != 0)
      shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, sess = qsession_, tag = d.tag] {
        auto live = host->get(vhost, name);
        if (live.ok()) (void)(*live)->ack(sess, tag, false);
      });
    return;
  }
  uint64_t tag = next_tag_++;
  if (s->ack != AckMode::kAuto) unacked_.emplace(tag, Unacked{serial, s->queue, d.tag});
  // A topic subscriber sees the topic the message went to (it may have
  // subscribed with wildcards); a queue subscriber its queue.
  write_message(*s, tag, d,
                s->own_queue ? destination_of(d.message.exchange, d.message.routing_key) : s->destination);
  pause_if_congested();
}

void Session::write_message(const Sub& s, uint64_t tag, const queue::Delivery& d, std::string_view destination) {
  std::string mid = id_prefix_ + std::to_string(tag);
  MessageMeta meta;
  meta.subscription = s.id;
  meta.message_id = mid;
  if (version_ == Version::k1_2 && s.ack != AckMode::kAuto) meta.ack = mid;
  meta.destination = destination;
  OutBuffer out;
  append_message_frame(d, meta, version_, out);
  send_raw(std::move(out));
}

void Session::pause_if_congested() {
  if (!output_paused_ && transport_->queued_output_bytes() > kOutputHighBytes) {
    output_paused_ = true;
    pause_all(true);
  }
}

void Session::queue_cancelled(uint64_t serial) {
  if (closed_) return;
  Sub* s = sub_by_serial(serial);
  if (!s) return;
  std::string id = s->id;
  sub_ids_.erase(serial);
  subs_.erase(id);
  protocol_error("subscription '" + id + "': its queue was deleted");
}

void Session::unsubscribe(Frame&& f) {
  std::string id(f.header("id").value_or(""));
  if (id.empty() && version_ == Version::k1_0) id = std::string(f.header("destination").value_or(""));
  if (id.empty()) return protocol_error("UNSUBSCRIBE without id header", {}, &f);
  auto it = subs_.find(id);
  std::string receipt(f.header("receipt").value_or(""));
  auto dn = durable_name(f);
  if (it == subs_.end() && !(dn && !dn->empty()))
    return protocol_error("no subscription '" + id + "'", {}, &f);

  std::optional<Sub> sub;
  if (it != subs_.end()) {
    sub = it->second;
    subs_.erase(it);
    sub_ids_.erase(sub->serial);
    // Auto-ack deliveries already on their way from the queue's shard are
    // settled there: they are still written (they arrive before the
    // cancel's answer, FIFO between shards), else they would be lost.
    if (sub->ack == AckMode::kAuto && !sub->reader) leaving_.emplace(sub->serial, *sub);
    // Its unacked messages go back to the queue (ActiveMQ and RabbitMQ do
    // the same); forget our side of them.
    std::erase_if(unacked_, [&](const auto& e) { return e.second.sub == sub->serial; });
  }
  std::string drop;  // a durable subscription ended for good
  if (dn && !dn->empty()) {
    if (client_id_.empty())
      return protocol_error("removing a durable subscription needs a client-id header on CONNECT", {}, &f);
    drop = "stomp.durable." + client_id_ + "." + std::string(*dn);
  }
  std::optional<QueueSlot> slot;
  if (sub && sub->reader) sub->reader->stop();
  else if (sub && sub->attached) slot = queues_[sub->queue];
  busy_ = true;
  std::weak_ptr<Session> weak = weak_from_this();
  uint64_t leaving_serial = sub ? sub->serial : 0;
  auto after = [weak, receipt, leaving_serial](bool) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->leaving_.erase(leaving_serial);
    self->busy_ = false;
    if (!receipt.empty()) self->open_pending(receipt, 0);
    self->run_backlog();
  };
  auto cancel_then_drop = [this, weak, slot, sub_consumer = sub ? sub->consumer : queue::ConsumerId(),
                           drop, after]() mutable {
    if (!drop.empty()) {
      auto removed = registry_.delete_queue(vhost_, drop, routing::kNoOwner);
      if (removed.ok()) {
        shards_.call(
            host_.shard_of(vhost_, drop), [host = &host_, vhost = vhost_, drop] { return host->drop(vhost, drop); },
            [after](uint64_t) mutable { after(true); });
        return;
      }
    }
    after(true);
  };
  if (slot) {
    shards_.call(
        slot->shard,
        [host = &host_, vhost = vhost_, name = slot->name, id = sub->consumer] {
          auto live = host->get(vhost, name);
          if (live.ok()) {
            (void)(*live)->cancel(id, /*requeue_unacked=*/true);
            host->consumer_gone(vhost, name);
          }
          return true;
        },
        [weak, cancel_then_drop](bool) mutable {
          auto self = weak.lock();
          if (!self || self->closed_) return;
          cancel_then_drop();
        });
  } else {
    cancel_then_drop();
  }
}

}  // namespace wharf::stomp
