// x-queue-type: stream. A stream queue is the Kafka topic of the same name:
// AMQP publishes to it append records (broker/stream_bridge.h) that Kafka
// clients read, and Kafka producers' records are read by AMQP consumers
// (stream_reader.h). Declaring a stream queue whose topic already exists
// adopts that topic, whatever its partition count; binding the queue to an
// exchange then routes AMQP publishes into the Kafka topic.
//
// Consumers follow RabbitMQ (checked against rabbitmq-server 3.10): manual
// acks only (no-ack is 540 NOT_IMPLEMENTED), a basic.qos prefetch_count with
// global=false is required (406), x-stream-offset picks the start, every
// delivery carries header x-stream-offset (long). Where RabbitMQ 3.10 closes
// the connection (nack, reject, recover on a stream delivery) Wharf lets them
// give the credit back, like an ack: nothing is ever requeued in a stream.
#include <charconv>
#include <chrono>
#include <map>

#include "amqp/handler/message_convert.h"
#include "amqp/handler/session.h"
#include "broker/stream_reader.h"
#include "base/logging.h"

namespace wharf::amqp {

using broker::StreamStart;

namespace routing = broker::routing;
using Id = msg::MethodId;

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// RabbitMQ's interval form of x-stream-offset ("7D", "12h": that long before
// now), with x-max-age's units: Y M D h m s (a year 365 days, a month 30).
std::optional<int64_t> interval_ms(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, n);
  if (ec != std::errc() || end != s.data() + s.size() - 1 || n < 0) return std::nullopt;
  int64_t unit = 0;
  switch (s.back()) {
    case 'Y': unit = 365LL * 86400000; break;
    case 'M': unit = 30LL * 86400000; break;
    case 'D': unit = 86400000; break;
    case 'h': unit = 3600000; break;
    case 'm': unit = 60000; break;
    case 's': unit = 1000; break;
    default: return std::nullopt;
  }
  if (n > INT64_MAX / unit) return std::nullopt;
  return n * unit;
}

// basic.consume's x-stream-offset argument; absent means "next".
result<StreamStart> stream_start(const FieldTable& args) {
  StreamStart s;
  const FieldValue* v = args.find("x-stream-offset");
  if (!v) return s;
  bool ok = std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (x == "first") s.kind = StreamStart::Kind::kFirst;
          else if (x == "last") s.kind = StreamStart::Kind::kLast;
          else if (x == "next") s.kind = StreamStart::Kind::kNext;
          else if (auto ms = interval_ms(x)) {
            s.kind = StreamStart::Kind::kTimestamp;
            s.value = now_ms() - *ms;
          } else {
            return false;
          }
          return true;
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          // A negative offset reads from the first record, as in RabbitMQ.
          s.kind = StreamStart::Kind::kOffset;
          s.value = int64_t(x);
          return true;
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          s.kind = StreamStart::Kind::kTimestamp;
          s.value = x.seconds > uint64_t(INT64_MAX / 1000) ? INT64_MAX : int64_t(x.seconds) * 1000;
          return true;
        } else {
          return false;
        }
      },
      v->v);
  if (!ok)
    return make_error(Errc::kPreconditionFailed,
                      "invalid x-stream-offset: use first, last, next, an offset, a timestamp or an interval "
                      "such as 1D");
  return s;
}

// The topic configs a new stream queue's arguments ask for: RabbitMQ's
// retention and segment arguments in Kafka's terms. kPreconditionFailed for
// an x-max-age that is not an interval.
result<std::map<std::string, std::string>> topic_configs(const routing::Table& args) {
  std::map<std::string, std::string> out;
  if (const routing::Value* v = args.find("x-max-age")) {
    const std::string* s = v->as_string();
    auto ms = s ? interval_ms(*s) : std::nullopt;
    if (!ms) return make_error(Errc::kPreconditionFailed, "invalid x-max-age (use e.g. 7D, 12h, 30m)");
    out["retention.ms"] = std::to_string(*ms);
  }
  if (const routing::Value* v = args.find("x-max-length-bytes"))
    if (auto n = v->as_int()) out["retention.bytes"] = std::to_string(*n);
  if (const routing::Value* v = args.find("x-stream-max-segment-size-bytes"))
    if (auto n = v->as_int()) out["segment.bytes"] = std::to_string(*n);
  return out;
}

}  // namespace

void Session::stream_declared(Channel& c, ChannelContext& ch, const routing::QueueDef& def, bool nowait,
                              bool passive) {
  if (passive || broker_.topics().find(def.name)) {
    if (!nowait) ch.send(msg::QueueDeclareOk{def.name, 0, 0});
    return;
  }
  // A new topic: the queue's retention arguments become its configs. An
  // adopted topic keeps its own.
  auto configs = topic_configs(def.arguments);
  if (!configs.ok()) {
    registry_.remove_queue(vhost_, def.name);
    return fail(ch, configs.error(), Id::QueueDeclare);
  }
  set_busy(c);
  uint16_t cid = c.id;
  auto sess = c.session;
  std::weak_ptr<Session> weak = weak_from_this();
  broker_.create_topic(def.name, 1, *configs, [this, weak, cid, sess, nowait, name = def.name](auto r) {
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

void Session::stream_consume(Channel& c, ChannelContext& ch, const routing::QueueDef& def, msg::BasicConsume& m,
                             const std::string& tag) {
  std::string what = routing::queue_phrase(vhost_, def.name);
  if (m.no_ack)
    return conn_.close(ReplyCode::NOT_IMPLEMENTED,
                       "automatic acknowledgement not supported by stream queues " + what, Id::BasicConsume);
  if (c.prefetch == 0)
    return ch.fail(ReplyCode::PRECONDITION_FAILED, "consumer prefetch count is not set for '" + what + "'",
                   Id::BasicConsume);
  auto start = stream_start(m.arguments);
  if (!start.ok()) return fail(ch, start.error(), Id::BasicConsume);
  auto topic = broker_.topics().find(def.name);
  if (!topic || topic->partitions <= 0)
    return ch.fail(ReplyCode::NOT_FOUND, "the Kafka topic of stream " + what + " does not exist",
                   Id::BasicConsume);

  std::weak_ptr<Session> weak = weak_from_this();
  uint16_t cid = c.id;
  auto sess = c.session;
  auto sink = [weak, cid, sess, tag](int32_t, std::vector<broker::StreamRecord>&& records) {
    if (auto self = weak.lock()) self->stream_deliver(cid, sess, tag, std::move(records));
  };
  auto gone = [weak, cid, sess, tag](const Error& e) {
    if (auto self = weak.lock()) self->stream_gone(cid, sess, tag, e);
  };
  Consumer k;
  k.tag = tag;
  k.stream = true;
  k.reader = std::make_shared<broker::StreamReader>(broker_, def.name, topic->partitions, *start, c.prefetch,
                                            std::move(sink), std::move(gone));
  auto reader = k.reader;
  c.consumers.emplace(tag, std::move(k));
  // consume-ok waits until every partition's start is resolved, so "next"
  // means exactly what is appended after the client saw consume-ok, and no
  // delivery overtakes it (reads only start afterwards).
  set_busy(c);
  reader->open([weak, cid, sess, tag, nowait = m.nowait](status st) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (Channel* c = self->live(cid, sess)) {
      auto ch = c->ctx.lock();
      auto it = c->consumers.find(tag);
      if (it != c->consumers.end()) {
        if (!st.ok()) {
          it->second.reader->stop();
          c->consumers.erase(it);
          self->fail(*ch, st.error(), Id::BasicConsume);
        } else {
          it->second.attached = true;
          if (!nowait) ch->send(msg::BasicConsumeOk{tag});
          it->second.reader->start(self->output_paused_ || !ch->flow_active());
        }
      }
    }
    self->resume(cid);
  });
}

void Session::stream_deliver(uint16_t cid, broker::queue::SessionId sess, const std::string& tag,
                             std::vector<broker::StreamRecord>&& records) {
  if (closed_) return;
  Channel* c = live(cid, sess);
  if (!c) return;
  auto it = c->consumers.find(tag);
  if (it == c->consumers.end() || !it->second.reader) return;  // cancelled: nothing to give back
  broker::StreamReader& reader = *it->second.reader;
  auto ch = c->ctx.lock();
  for (auto& r : records) {
    uint64_t t = c->next_tag++;
    c->unacked.emplace(t, Unacked{kStreamSlot, broker::queue::DeliveryTag(t)});
    reader.delivered(t);
    const auto& m = r.message;
    msg::BasicProperties props = properties_of(m);
    if (!props.headers) props.headers = FieldTable{};
    props.headers->set("x-stream-offset", int64_t(r.offset));
    ch->send_content(msg::BasicDeliver{tag, t, false, m.exchange, m.routing_key}, props, m.body.bytes());
  }
  if (!output_paused_ && conn_.output_congested()) {
    output_paused_ = true;
    pause_consumers(true);
  }
}

void Session::stream_gone(uint16_t cid, broker::queue::SessionId sess, const std::string& tag, const Error& e) {
  if (closed_) return;
  Channel* c = live(cid, sess);
  if (!c) return;
  auto it = c->consumers.find(tag);
  if (it == c->consumers.end()) return;
  WLOG_WARN("amqp", "connection {}: stream consumer '{}' of '{}' cancelled: {}", conn_.info().id, tag,
            it->second.reader ? it->second.reader->topic() : std::string(), e.message);
  c->consumers.erase(it);
  if (conn_.info().client_has("consumer_cancel_notify")) c->ctx.lock()->send(msg::BasicCancel{tag, true});
}

void Session::stream_pause(Channel&, Consumer& k, bool paused) {
  if (k.reader) k.reader->set_paused(paused);
}

void Session::stream_cancel(Channel&, Consumer& k) {
  if (k.reader) k.reader->stop();
}

void Session::stream_settled(Channel& c, const std::vector<broker::queue::DeliveryTag>& tags) {
  std::vector<uint64_t> raw;
  raw.reserve(tags.size());
  for (auto t : tags) raw.push_back(t.value);
  size_t left = raw.size();
  for (auto& [_, k] : c.consumers) {
    if (!k.stream || !k.reader) continue;
    left -= std::min(left, k.reader->settle(raw));
    if (left == 0) break;
  }
  // Tags of cancelled consumers find no reader: their credit died with it.
}

}  // namespace wharf::amqp
