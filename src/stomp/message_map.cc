#include "stomp/message_map.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "stomp/numbers.h"
#include "stomp/protocol/frame_writer.h"

namespace wharf::stomp {

namespace queue = broker::queue;

namespace {

Error bad_header(std::string_view name, std::string_view value) {
  return make_error(Errc::kInvalidArgument,
                    "invalid '" + std::string(name) + "' header value '" + std::string(value) + "'");
}

// Headers a SEND may carry that are not message headers.
bool is_frame_only(std::string_view n) {
  static const std::unordered_set<std::string_view> kSkip = {
      "destination", "transaction", "receipt", "content-length", "message-id", "subscription", "ack",
      "redelivered", "JMSXDeliveryCount", "timestamp"};
  return kSkip.count(n) != 0;
}

// `name` is escaped unless it is one of ours (plain letters and '-').
void header(std::string& out, std::string_view name, std::string_view value, Version v, bool our_name = true) {
  if (our_name) out.append(name);
  else append_escaped(name, v, out);
  out.push_back(':');
  if (v == Version::k1_0) {
    // 1.0 cannot escape: a value from another protocol keeps its text up to
    // the first line break rather than break the frame.
    value = value.substr(0, value.find('\n'));
    out.append(value);
  } else {
    append_escaped(value, v, out);
  }
  out.push_back('\n');
}

void number(std::string& out, std::string_view name, int64_t n, Version v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  header(out, name, std::string_view(buf, size_t(r.ptr - buf)), v);
}

// Text of a header value from any protocol, or false for tables/lists/bytes.
bool text_of(const queue::Value& val, std::string& s) {
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          s = x;
          return true;
        } else if constexpr (std::is_same_v<T, bool>) {
          s = x ? "true" : "false";
          return true;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          s = std::to_string(x);
          return true;
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          int n = std::snprintf(buf, sizeof buf, "%.17g", x);
          s.assign(buf, size_t(n));
          return true;
        } else if constexpr (std::is_same_v<T, queue::Timestamp>) {
          s = std::to_string(x.seconds);
          return true;
        } else if constexpr (std::is_same_v<T, queue::Decimal>) {
          s = queue::decimal_text(x);
          return true;
        } else if constexpr (std::is_same_v<T, queue::Null>) {
          s.clear();
          return true;
        } else {
          return false;
        }
      },
      val.v);
}

}  // namespace

result<queue::Message> message_of(Frame&& send, std::string exchange, std::string routing_key, int64_t now_ms) {
  queue::Message m;
  m.exchange = std::move(exchange);
  m.routing_key = std::move(routing_key);
  auto& p = m.props;
  p.delivery_mode = queue::kDeliveryModeTransient;
  p.timestamp = now_ms / 1000;
  // STOMP 1.2: only the first occurrence of a header counts, for the headers
  // that become properties (persistent, expires, ...) as for the others.
  std::unordered_set<std::string_view> seen;
  for (auto& [name, value] : send.headers) {
    if (!seen.insert(name).second) continue;
    if (is_frame_only(name)) continue;
    if (name == "content-type") {
      if (!p.content_type) p.content_type = value;
    } else if (name == "content-encoding") {
      if (!p.content_encoding) p.content_encoding = value;
    } else if (name == "persistent") {
      if (value != "true" && value != "false") return bad_header(name, value);
      p.delivery_mode = value == "true" ? queue::kDeliveryModePersistent : queue::kDeliveryModeTransient;
    } else if (name == "priority") {
      if (p.priority) continue;
      auto n = parse_number<int64_t>(value);
      if (!n) return bad_header(name, value);
      p.priority = uint8_t(std::clamp<int64_t>(*n, 0, kMaxPriority));
    } else if (name == "expires") {
      if (p.expiration_ms) continue;
      auto at = parse_number<int64_t>(value);
      if (!at || *at < 0) return bad_header(name, value);
      if (*at > 0) p.expiration_ms = std::max<int64_t>(0, *at - now_ms);
    } else if (name == "correlation-id") {
      if (!p.correlation_id) p.correlation_id = value;
    } else if (name == "reply-to") {
      if (!p.reply_to) p.reply_to = value;
    } else if (name == "type") {
      if (!p.type) p.type = value;
    } else if (name == "amqp-message-id") {
      if (!p.message_id) p.message_id = value;
    } else if (name == "app-id") {
      if (!p.app_id) p.app_id = value;
    } else if (name == "user-id") {
      if (!p.user_id) p.user_id = value;
    } else {
      m.headers.add(name, queue::Value(std::move(value)));
    }
  }
  if (!p.priority) p.priority = kDefaultPriority;
  m.body = queue::Body::from(std::move(send.body));
  return m;
}

void append_message_frame(const queue::Delivery& d, const MessageMeta& meta, Version v, OutBuffer& out) {
  const queue::Message& m = d.message;
  const auto& p = m.props;
  std::string h;
  h.reserve(256);
  h.append("MESSAGE\n");
  header(h, "subscription", meta.subscription, v);
  header(h, "message-id", meta.message_id, v);
  if (!meta.ack.empty()) header(h, "ack", meta.ack, v);
  header(h, "destination", meta.destination, v);
  if (p.content_type) header(h, "content-type", *p.content_type, v);
  if (p.content_encoding) header(h, "content-encoding", *p.content_encoding, v);
  if (p.persistent()) header(h, "persistent", "true", v);
  number(h, "priority", p.priority ? *p.priority : kDefaultPriority, v);
  number(h, "timestamp", d.enqueued_at_ms, v);
  number(h, "expires", p.expiration_ms ? d.enqueued_at_ms + *p.expiration_ms : 0, v);
  if (p.correlation_id) header(h, "correlation-id", *p.correlation_id, v);
  if (p.reply_to) header(h, "reply-to", *p.reply_to, v);
  if (p.type) header(h, "type", *p.type, v);
  if (p.message_id) header(h, "amqp-message-id", *p.message_id, v);
  if (p.app_id) header(h, "app-id", *p.app_id, v);
  if (p.user_id) header(h, "user-id", *p.user_id, v);
  if (d.redelivered) header(h, "redelivered", "true", v);
  number(h, "JMSXDeliveryCount", d.delivery_count, v);
  if (!m.deaths.empty()) {
    // Dead-lettered: where it first died (deaths are newest first), so a
    // client can move it back (ActiveMQ's original-destination header).
    const auto& first = m.deaths.back();
    header(h, "original-destination", "/queue/" + first.queue, v);
    header(h, "x-first-death-queue", first.queue, v);
    header(h, "x-first-death-reason", queue::death_reason_name(first.reason), v);
  }
  std::string text;
  for (const auto& e : m.headers.fields) {
    if (e.name.empty() || is_frame_only(e.name)) continue;
    if (v == Version::k1_0 && e.name.find_first_of(":\n") != std::string::npos) continue;
    if (!text_of(e.value, text)) continue;
    header(h, e.name, text, v, /*our_name=*/false);
  }
  number(h, "content-length", int64_t(m.body.size()), v);
  h.push_back('\n');
  out.append(h.data(), h.size());
  out.append(m.body.bytes());
  out.append_u8(0);
}

}  // namespace wharf::stomp
