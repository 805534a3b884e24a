#include "amqp/handler/message_convert.h"

#include <charconv>
#include <string_view>

#include "amqp/handler/value_convert.h"

namespace wharf::amqp {

namespace queue = broker::queue;

namespace {

bool is_death_summary(std::string_view name) {
  return name == "x-first-death-queue" || name == "x-first-death-reason" || name == "x-first-death-exchange" ||
         name == "x-last-death-queue" || name == "x-last-death-reason" || name == "x-last-death-exchange";
}

}  // namespace

result<queue::Message> message_of(std::string exchange, std::string routing_key, msg::BasicProperties&& p,
                                  std::vector<uint8_t>&& body) {
  queue::Message m;
  m.exchange = std::move(exchange);
  m.routing_key = std::move(routing_key);
  auto& q = m.props;
  q.content_type = std::move(p.content_type);
  q.content_encoding = std::move(p.content_encoding);
  q.delivery_mode = p.delivery_mode;
  q.priority = p.priority;
  q.correlation_id = std::move(p.correlation_id);
  q.reply_to = std::move(p.reply_to);
  if (p.expiration) {
    const std::string& e = *p.expiration;
    int64_t ms = -1;
    auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), ms);
    if (e.empty() || ec != std::errc() || end != e.data() + e.size() || ms < 0)
      return make_error(Errc::kPreconditionFailed, "invalid expiration '" + e + "'");
    q.expiration_ms = ms;
  }
  q.message_id = std::move(p.message_id);
  if (p.timestamp) q.timestamp = int64_t(*p.timestamp);
  q.type = std::move(p.type);
  q.user_id = std::move(p.user_id);
  q.app_id = std::move(p.app_id);
  if (p.headers) {
    m.headers.fields.reserve(p.headers->entries.size());
    for (auto& e : p.headers->entries) {
      if (e.name == "x-death") {
        m.deaths = queue::deaths_from_value(to_queue(e.value));
        continue;
      }
      if (is_death_summary(e.name)) continue;
      m.headers.fields.push_back({std::move(e.name), to_queue(e.value)});
    }
  }
  m.body = queue::Body::from(std::move(body));
  return m;
}

msg::BasicProperties properties_of(const queue::Message& m) {
  msg::BasicProperties p;
  const auto& q = m.props;
  p.content_type = q.content_type;
  p.content_encoding = q.content_encoding;
  p.delivery_mode = q.delivery_mode;
  p.priority = q.priority;
  p.correlation_id = q.correlation_id;
  p.reply_to = q.reply_to;
  if (q.expiration_ms) p.expiration = std::to_string(*q.expiration_ms);
  p.message_id = q.message_id;
  if (q.timestamp) p.timestamp = uint64_t(*q.timestamp);
  p.type = q.type;
  p.user_id = q.user_id;
  p.app_id = q.app_id;
  if (!m.headers.empty() || !m.deaths.empty()) {
    FieldTable h = from_queue(m.headers);
    if (!m.deaths.empty()) {
      h.set("x-death", from_queue(queue::deaths_to_value(m.deaths)));
      const auto& first = m.deaths.back();  // newest first: the oldest is last
      h.set("x-first-death-exchange", first.exchange);
      h.set("x-first-death-queue", first.queue);
      h.set("x-first-death-reason", std::string(queue::death_reason_name(first.reason)));
      const auto& last = m.deaths.front();
      h.set("x-last-death-exchange", last.exchange);
      h.set("x-last-death-queue", last.queue);
      h.set("x-last-death-reason", std::string(queue::death_reason_name(last.reason)));
    }
    p.headers = std::move(h);
  }
  return p;
}

}  // namespace wharf::amqp
