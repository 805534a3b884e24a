// Subscriptions to stream queues (AMQP x-queue-type: stream, which are Kafka
// topics): the subscriber reads the topic through a broker::StreamReader,
// from where the SUBSCRIBE's `x-stream-offset` header says (first, last,
// next, offset=N or a plain N, timestamp=MS; default next). Nothing is
// consumed: an ACK or NACK only gives the reader its credit back, and
// MESSAGE frames carry the record's `x-stream-offset`. Kafka records written
// by Kafka producers reach STOMP subscribers this way.
#include "base/logging.h"
#include "stomp/message_map.h"
#include "stomp/numbers.h"
#include "stomp/session.h"

namespace wharf::stomp {

namespace queue = broker::queue;

result<broker::StreamStart> stream_start_of(std::optional<std::string_view> h) {
  broker::StreamStart s;
  s.kind = broker::StreamStart::Kind::kNext;
  if (!h) return s;
  std::string_view v = *h;
  using K = broker::StreamStart::Kind;
  if (v == "first") {
    s.kind = K::kFirst;
  } else if (v == "last") {
    s.kind = K::kLast;
  } else if (v == "next") {
    s.kind = K::kNext;
  } else if (v.rfind("timestamp=", 0) == 0) {
    auto n = parse_number<int64_t>(v.substr(10));
    if (!n) return make_error(Errc::kInvalidArgument, "invalid x-stream-offset '" + std::string(v) + "'");
    s.kind = K::kTimestamp;
    s.value = *n;
  } else {
    if (v.rfind("offset=", 0) == 0) v.remove_prefix(7);
    auto n = parse_number<int64_t>(v);
    if (!n || *n < 0) return make_error(Errc::kInvalidArgument, "invalid x-stream-offset '" + std::string(*h) + "'");
    s.kind = K::kOffset;
    s.value = *n;
  }
  return s;
}

void Session::stream_subscribe(Sub sub, const std::string& name, const Frame& f, uint32_t prefetch) {
  auto start = stream_start_of(f.header("x-stream-offset"));
  if (!start.ok()) return protocol_error(start.error().message, {}, &f);
  auto topic = broker_.topics().find(name);
  if (!topic || topic->partitions <= 0)
    return protocol_error("the Kafka topic of stream queue '" + name + "' does not exist", {}, &f);
  sub.serial = next_serial_++;
  sub.queue = kStreamSlot;
  uint64_t serial = sub.serial;
  std::weak_ptr<Session> weak = weak_from_this();
  auto sink = [weak, serial](int32_t, std::vector<broker::StreamRecord>&& records) {
    if (auto self = weak.lock(); self && !self->closed_) self->stream_deliver(serial, std::move(records));
  };
  auto gone = [weak, serial](const Error& e) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    WLOG_WARN("stomp", "{}: stream subscription ended: {}", self->peer_, e.message);
    self->queue_cancelled(serial);
  };
  sub.reader = std::make_shared<broker::StreamReader>(broker_, name, topic->partitions, *start,
                                                      std::max<uint32_t>(prefetch, 1), std::move(sink),
                                                      std::move(gone));
  auto reader = sub.reader;
  std::string id = sub.id;
  sub_ids_.emplace(serial, id);
  subs_.emplace(id, std::move(sub));
  std::string receipt(f.header("receipt").value_or(""));
  // Reading starts once every partition's start is resolved, so "next"
  // means what is appended after the RECEIPT.
  busy_ = true;
  reader->open([weak, serial, receipt](status st) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->busy_ = false;
    Sub* s = self->sub_by_serial(serial);
    if (!st.ok()) {
      if (s) {
        s->reader->stop();
        self->sub_ids_.erase(serial);
        self->subs_.erase(s->id);
      }
      Frame about;
      if (!receipt.empty()) about.headers.emplace_back("receipt", receipt);
      return self->protocol_error("cannot subscribe: " + st.error().message, {}, &about);
    }
    if (s) {
      s->attached = true;
      s->reader->start(self->output_paused_);
    }
    if (!receipt.empty()) self->open_pending(receipt, 0);
    self->run_backlog();
  });
}

void Session::stream_deliver(uint64_t serial, std::vector<broker::StreamRecord>&& records) {
  Sub* s = sub_by_serial(serial);
  if (!s || !s->reader) return;
  std::string dest = s->destination;
  std::vector<uint64_t> settled;
  for (auto& r : records) {
    uint64_t tag = next_tag_++;
    s->reader->delivered(tag);
    if (s->ack == AckMode::kAuto) settled.push_back(tag);
    else unacked_.emplace(tag, Unacked{serial, kStreamSlot, queue::DeliveryTag(tag)});
    queue::Delivery d;
    d.enqueued_at_ms = r.timestamp_ms;
    d.message = std::move(r.message);
    d.message.headers.set("x-stream-offset", queue::Value(int64_t(r.offset)));
    write_message(*s, tag, d, dest);
  }
  if (!settled.empty()) s->reader->settle(settled);
  pause_if_congested();
}

}  // namespace wharf::stomp
