#include "stomp/destination.h"

namespace wharf::stomp {

namespace {

constexpr size_t kMaxName = 255;  // AMQP shortstr, the registry's limit too

bool strip(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

Error bad(std::string_view text, std::string_view why) {
  return make_error(Errc::kInvalidArgument, "invalid destination '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

std::string Destination::send_exchange() const {
  switch (kind) {
    case DestKind::kTopic: return "amq.topic";
    case DestKind::kExchange: return name;
    default: return "";
  }
}

std::string Destination::send_key() const { return kind == DestKind::kExchange ? key : name; }

result<Destination> parse_destination(std::string_view text) {
  Destination d;
  std::string_view s = text;
  if (strip(s, "/queue/")) {
    d.kind = DestKind::kQueue;
  } else if (strip(s, "/topic/")) {
    d.kind = DestKind::kTopic;
  } else if (strip(s, "/temp-queue/")) {
    d.kind = DestKind::kTempQueue;
  } else if (strip(s, "/amq/queue/")) {
    d.kind = DestKind::kAmqQueue;
  } else if (strip(s, "/exchange/")) {
    d.kind = DestKind::kExchange;
    size_t slash = s.find('/');
    if (slash != std::string_view::npos) {
      d.key = std::string(s.substr(slash + 1));
      s = s.substr(0, slash);
    }
    if (d.key.size() > kMaxName) return bad(text, "routing key longer than 255 bytes");
  } else {
    return bad(text, "expected /queue/, /topic/, /temp-queue/, /exchange/ or /amq/queue/");
  }
  if (s.empty()) return bad(text, "empty name");
  if (s.size() > kMaxName) return bad(text, "name longer than 255 bytes");
  d.name = std::string(s);
  return d;
}

std::string amqp_topic_pattern(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view word = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!out.empty() || start > 0) out.push_back('.');
    out.append(word == ">" ? "#" : word);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string destination_of(std::string_view exchange, std::string_view routing_key) {
  if (exchange.empty()) return "/queue/" + std::string(routing_key);
  if (exchange == "amq.topic") return "/topic/" + std::string(routing_key);
  std::string d = "/exchange/" + std::string(exchange);
  if (!routing_key.empty()) d += "/" + std::string(routing_key);
  return d;
}

}  // namespace wharf::stomp
