// SEND and transactions (BEGIN / COMMIT / ABORT). A SEND is routed on this
// shard through the registry and stored in every queue reached by
// StoreFanout; a /queue/ destination that does not exist yet is created
// first (ActiveMQ creates destinations on use). Inside a transaction the
// SEND (and ACK / NACK) frames are kept and replayed in order at COMMIT.
#include <chrono>
#include <climits>

#include "base/logging.h"
#include "broker/header_values.h"
#include "broker/virtual_topics.h"
#include "stomp/message_map.h"
#include "stomp/numbers.h"
#include "stomp/session.h"

namespace wharf::stomp {

namespace queue = broker::queue;
namespace routing = broker::routing;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Integer header `name` (0 when absent), from 0 to `max`; otherwise an error
// naming the header and its value, so the client can tell which one is wrong.
result<int64_t> header_i64(const Frame& f, std::string_view name, int64_t max) {
  auto h = f.header(name);
  if (!h) return int64_t(0);
  auto v = parse_number<int64_t>(*h);
  if (!v || *v < 0 || *v > max)
    return make_error(Errc::kInvalidArgument, "invalid " + std::string(name) + " header '" + std::string(*h) +
                                                  "': must be an integer from 0 to " + std::to_string(max));
  return *v;
}

}  // namespace

// ActiveMQ's scheduling headers: AMQ_SCHEDULED_DELAY (ms before the first
// delivery), AMQ_SCHEDULED_PERIOD (ms between repeats), AMQ_SCHEDULED_REPEAT
// (further deliveries) and AMQ_SCHEDULED_CRON (5-field cron; each tick starts
// such a run). nullopt when the SEND has none of them (or only zeros). The
// headers are removed from the frame: they must not schedule the message
// again if a consumer sends it on.
result<std::optional<broker::delay::Schedule>> Session::schedule_of(Frame& f) {
  broker::delay::Schedule s;
  auto delay = header_i64(f, "AMQ_SCHEDULED_DELAY", broker::delay::kMaxScheduleMs);
  if (!delay.ok()) return delay.error();
  auto period = header_i64(f, "AMQ_SCHEDULED_PERIOD", broker::delay::kMaxScheduleMs);
  if (!period.ok()) return period.error();
  auto repeat = header_i64(f, "AMQ_SCHEDULED_REPEAT", INT32_MAX);
  if (!repeat.ok()) return repeat.error();
  s.delay_ms = *delay;
  s.period_ms = *period;
  s.repeat = int32_t(*repeat);
  s.cron = std::string(f.header("AMQ_SCHEDULED_CRON").value_or(""));
  std::erase_if(f.headers, [](const auto& h) { return h.first.rfind("AMQ_SCHEDULED_", 0) == 0; });
  if (s.delay_ms == 0 && s.repeat == 0 && s.cron.empty()) return std::optional<broker::delay::Schedule>();
  if (auto st = broker::delay::validate(s); !st.ok()) return st.error();
  // A cron that parses but has no due time (30 February) is refused by the
  // engine only later, on its shard: a SEND without a receipt would then be
  // dropped silently. Refuse it here, with the other header errors.
  if (!s.cron.empty()) {
    auto cron = broker::delay::Cron::parse(s.cron);
    if (!broker::delay::first_occurrence(s, &*cron, now_ms()))
      return make_error(Errc::kInvalidArgument, "AMQ_SCHEDULED_CRON '" + s.cron + "' never fires");
  }
  return std::optional<broker::delay::Schedule>(std::move(s));
}

bool Session::permitted(routing::Perm perm, std::string_view kind, const std::string& name, const Frame& about) {
  bool ok = perms_.allowed(registry_, user_, vhost_, perm, kind, name);
  if (!ok)
    protocol_error("Access refused: " + std::string(routing::perm_name(perm)) + " access to " + std::string(kind) +
                       " '" + name + "' in vhost '" + vhost_ + "' refused for user '" + user_ + "'",
                   {}, &about);
  return ok;
}

bool Session::ensure_queue(const std::string& name, const Frame& about) {
  if (registry_.find_queue(vhost_, name).ok()) return true;
  if (!permitted(routing::Perm::kConfigure, "queue", name, about)) return false;
  // ActiveMQ's defaults: priorities 0-9, and after max_redeliveries the
  // message moves to DLQ.<name> (also where expired messages go). A DLQ
  // itself has no DLQ.
  bool is_dlq = name.rfind("DLQ.", 0) == 0;
  routing::QueueDeclare d;
  d.name = name;
  d.durable = true;
  if (!is_dlq) {
    d.arguments.set("x-max-priority", routing::Value(int64_t(kMaxPriority)));
    d.arguments.set("x-dead-letter-exchange", routing::Value(std::string()));
    d.arguments.set("x-dead-letter-routing-key", routing::Value("DLQ." + name));
    d.arguments.set("x-delivery-limit", routing::Value(int64_t(config_.max_redeliveries)));
  }
  auto r = registry_.declare_queue(vhost_, d, routing::kNoOwner);
  if (!r.ok()) {
    protocol_error("cannot create queue '" + name + "': " + r.error().message, {}, &about);
    return false;
  }
  if (!is_dlq) {
    routing::QueueDeclare dlq;
    dlq.name = "DLQ." + name;
    dlq.durable = true;
    if (!registry_.find_queue(vhost_, dlq.name).ok()) (void)registry_.declare_queue(vhost_, dlq, routing::kNoOwner);
  }
  if (auto st = broker::bind_virtual_topic(registry_, vhost_, name); !st.ok())
    WLOG_ERROR("stomp", "binding virtual topic queue '{}': {}", name, st.error().message);
  return true;
}

result<std::string> Session::temp_queue(const std::string& name) {
  if (auto it = temp_queues_.find(name); it != temp_queues_.end()) return it->second;
  routing::QueueDeclare d;
  d.name = "stomp.tmp-" + std::to_string(conn_id_) + "-" + name;
  d.exclusive = true;
  auto r = registry_.declare_queue(vhost_, d, conn_id_);
  if (!r.ok()) return r.error();
  temp_queues_.emplace(name, r->queue.name);
  return r->queue.name;
}

void Session::send(Frame&& f) {
  published_ = true;
  if (!f.header("destination")) return protocol_error("SEND without destination header", {}, &f);
  if (held_in_tx(f)) return;
  std::string receipt(f.header("receipt").value_or(""));
  uint64_t seq = receipt.empty() ? 0 : open_pending(receipt, 1);
  publish(std::move(f), seq);
}

// Routes and stores one SEND. `seq` (0 = none) is the pending receipt that
// waits for its stores: it holds one part, replaced here by the stores.
void Session::publish(Frame&& f, uint64_t seq) {
  auto dest = parse_destination(*f.header("destination"));
  if (!dest.ok()) return protocol_error(dest.error().message, {}, &f);
  std::string exchange = dest->send_exchange();
  std::string key = dest->send_key();
  switch (dest->kind) {
    case DestKind::kQueue:
      break;
    case DestKind::kTempQueue: {
      auto real = temp_queue(dest->name);
      if (!real.ok()) return protocol_error(real.error().message, {}, &f);
      key = *real;
      break;
    }
    case DestKind::kAmqQueue:
      if (!registry_.find_queue(vhost_, dest->name).ok())
        return protocol_error("NOT_FOUND - no queue '" + dest->name + "' in vhost '" + vhost_ + "'", {}, &f);
      break;
    default:
      break;
  }
  if (!permitted(routing::Perm::kWrite, "exchange", exchange, f)) return;
  // A reply-to naming one of our temporary queues is rewritten so that the
  // receiver can send to it.
  for (auto& [n, v] : f.headers) {
    if (n != "reply-to") continue;
    if (v.rfind("/temp-queue/", 0) == 0) {
      auto real = temp_queue(v.substr(12));
      if (!real.ok()) return protocol_error(real.error().message, {}, &f);
      v = "/amq/queue/" + *real;
    }
    break;
  }
  // What an ERROR about this SEND echoes (receipt-id) once `f` was consumed.
  Frame sent;
  if (auto r = f.header("receipt")) sent.headers.emplace_back("receipt", std::string(*r));
  auto sched = schedule_of(f);
  if (!sched.ok()) return protocol_error(sched.error().message, {}, &sent);
  auto made = message_of(std::move(f), exchange, key, now_ms());
  if (!made.ok()) return protocol_error(made.error().message, {}, &sent);
  if (made->props.user_id && *made->props.user_id != user_)
    return protocol_error("user-id header set to '" + *made->props.user_id + "' but authenticated user was '" +
                              user_ + "'",
                          {}, &sent);
  if (*sched) {
    // Scheduled delivery: the delay engine holds it and routes it when due;
    // a queue destination must exist by then.
    broker::delay::DelayTarget t{vhost_, exchange, key, ""};
    if (dest->kind == DestKind::kQueue && !ensure_queue(key, sent)) return;
    if (dest->kind == DestKind::kQueue || dest->kind == DestKind::kAmqQueue || dest->kind == DestKind::kTempQueue) {
      t.exchange.clear();
      t.routing_key.clear();
      t.queue = key;
    }
    return fanout_.schedule(std::move(t), *made, std::move(**sched), receipt_part(seq));
  }
  // Only a headers exchange looks at the headers: convert them just then.
  const routing::Table* hp = nullptr;
  routing::Table headers;
  if (dest->kind == DestKind::kExchange && !made->headers.empty()) {
    auto ex = registry_.find_exchange(vhost_, exchange);
    if (ex.ok() && ex->type == routing::ExchangeType::kHeaders) {
      headers = broker::routing_table_of(made->headers);
      hp = &headers;
    }
  }
  status st = registry_.route(vhost_, exchange, key, hp, &route_);
  if (st.ok() && route_.destinations().empty() && dest->kind == DestKind::kQueue) {
    if (!ensure_queue(key, sent)) return;
    st = registry_.route(vhost_, exchange, key, hp, &route_);
  }
  if (!st.ok()) return protocol_error(st.error().message, {}, &sent);
  pub_queues_.clear();
  pub_topics_.clear();
  for (const auto& d : route_.destinations())
    (d.kind == routing::DestKind::kQueue ? pub_queues_ : pub_topics_).push_back(d.name);

  auto message = std::make_shared<const queue::Message>(std::move(*made));
  if (seq) {
    // The receipt's one part becomes one per destination (none: it is done).
    add_parts(seq, int(pub_queues_.size() + pub_topics_.size()) - 1);
    if (pub_queues_.empty() && pub_topics_.empty()) flush_receipts();
  }
  fanout_.store(vhost_, message, pub_queues_, pub_topics_, receipt_part(seq));
}

broker::StoreFanout::PartDone Session::receipt_part(uint64_t seq) {
  if (!seq) return {};
  std::weak_ptr<Session> weak = weak_from_this();
  return [weak, seq](bool ok) {
    if (auto self = weak.lock(); self && !self->closed_) self->part_done(seq, ok);
  };
}

void Session::add_parts(uint64_t seq, int n) {
  for (auto& p : pending_)
    if (p.seq == seq) p.parts += n;
}

bool Session::held_in_tx(Frame& f) {
  auto tx = f.header("transaction");
  if (!tx) return false;
  auto it = txs_.find(std::string(*tx));
  if (it == txs_.end()) {
    protocol_error("unknown transaction '" + std::string(*tx) + "'", {}, &f);
    return true;
  }
  std::string receipt(f.header("receipt").value_or(""));
  it->second.push_back(std::move(f));
  // The frame was accepted into the transaction: that is what its receipt says.
  if (!receipt.empty()) open_pending(std::move(receipt), 0);
  return true;
}

void Session::begin(Frame&& f) {
  auto tx = f.header("transaction");
  if (!tx || tx->empty()) return protocol_error("BEGIN without transaction header", {}, &f);
  if (!txs_.emplace(std::string(*tx), std::vector<Frame>{}).second)
    return protocol_error("transaction '" + std::string(*tx) + "' is already open", {}, &f);
  if (auto r = f.header("receipt")) open_pending(std::string(*r), 0);
}

void Session::commit(Frame&& f) {
  auto tx = f.header("transaction");
  if (!tx) return protocol_error("COMMIT without transaction header", {}, &f);
  auto it = txs_.find(std::string(*tx));
  if (it == txs_.end()) return protocol_error("unknown transaction '" + std::string(*tx) + "'", {}, &f);
  std::vector<Frame> ops = std::move(it->second);
  txs_.erase(it);
  // The COMMIT's receipt waits for every SEND of the transaction.
  std::string receipt(f.header("receipt").value_or(""));
  uint64_t seq = receipt.empty() ? 0 : open_pending(receipt, 1);
  for (auto& op : ops) {
    if (closing_) return;
    // Replayed as if sent now, without the transaction header.
    std::erase_if(op.headers, [](const auto& h) { return h.first == "transaction" || h.first == "receipt"; });
    if (op.command == "SEND") {
      if (seq) add_parts(seq, 1);
      publish(std::move(op), seq);
    } else {
      bool positive = op.command == "ACK";
      ack(std::move(op), positive);
    }
  }
  if (seq) part_done(seq, true);
}

void Session::abort(Frame&& f) {
  auto tx = f.header("transaction");
  if (!tx) return protocol_error("ABORT without transaction header", {}, &f);
  if (txs_.erase(std::string(*tx)) == 0)
    return protocol_error("unknown transaction '" + std::string(*tx) + "'", {}, &f);
  if (auto r = f.header("receipt")) open_pending(std::string(*r), 0);
}

}  // namespace wharf::stomp
