#include "broker/queue/message.h"

#include <algorithm>
#include <cstring>

namespace wharf::broker::queue {

Body Body::copy_of(std::span<const uint8_t> bytes) {
  return from(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Body Body::copy_of(std::string_view text) { return from(std::string(text)); }

Body Body::from(std::string bytes) {
  auto owner = std::make_shared<const std::string>(std::move(bytes));
  std::span<const uint8_t> s(reinterpret_cast<const uint8_t*>(owner->data()), owner->size());
  return Body(std::move(owner), s);
}

Body Body::from(std::vector<uint8_t> bytes) {
  auto owner = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  std::span<const uint8_t> s(owner->data(), owner->size());
  return Body(std::move(owner), s);
}

std::string_view death_reason_name(DeathReason r) {
  switch (r) {
    case DeathReason::kRejected: return "rejected";
    case DeathReason::kExpired: return "expired";
    case DeathReason::kMaxLen: return "maxlen";
    case DeathReason::kDeliveryLimit: return "delivery_limit";
  }
  return "rejected";
}

std::optional<DeathReason> parse_death_reason(std::string_view s) {
  for (auto r : {DeathReason::kRejected, DeathReason::kExpired, DeathReason::kMaxLen, DeathReason::kDeliveryLimit})
    if (death_reason_name(r) == s) return r;
  return std::nullopt;
}

void record_death(Message& m, std::string_view queue, DeathReason reason, int64_t now_s) {
  auto it = std::find_if(m.deaths.begin(), m.deaths.end(),
                         [&](const DeathRecord& d) { return d.queue == queue && d.reason == reason; });
  DeathRecord rec;
  if (it != m.deaths.end()) {
    rec = std::move(*it);
    m.deaths.erase(it);
  } else {
    rec.queue = std::string(queue);
    rec.reason = reason;
    rec.time = now_s;
  }
  rec.count++;
  rec.exchange = m.exchange;
  rec.routing_keys = {m.routing_key};
  if (m.props.expiration_ms) {
    // The expiration would fire again wherever the message goes next.
    rec.original_expiration_ms = m.props.expiration_ms;
    m.props.expiration_ms.reset();
  }
  m.deaths.insert(m.deaths.begin(), std::move(rec));
}

Value deaths_to_value(const std::vector<DeathRecord>& deaths) {
  List list;
  for (const auto& d : deaths) {
    Table t;
    t.add("count", d.count);
    t.add("reason", std::string(death_reason_name(d.reason)));
    t.add("queue", d.queue);
    t.add("time", Timestamp{d.time});
    t.add("exchange", d.exchange);
    List keys;
    for (const auto& k : d.routing_keys) keys.items.emplace_back(k);
    t.add("routing-keys", std::move(keys));
    if (d.original_expiration_ms) t.add("original-expiration", std::to_string(*d.original_expiration_ms));
    list.items.emplace_back(std::move(t));
  }
  return Value(std::move(list));
}

std::vector<DeathRecord> deaths_from_value(const Value& v) {
  std::vector<DeathRecord> out;
  const List* list = v.get_if<List>();
  if (!list) return out;
  for (const auto& item : list->items) {
    const Table* t = item.get_if<Table>();
    if (!t) continue;
    DeathRecord d;
    const Value* q = t->find("queue");
    const Value* r = t->find("reason");
    if (!q || !q->is<std::string>() || !r || !r->is<std::string>()) continue;
    auto reason = parse_death_reason(*r->get_if<std::string>());
    if (!reason) continue;
    d.queue = *q->get_if<std::string>();
    d.reason = *reason;
    if (const Value* c = t->find("count"); c && c->is<int64_t>()) d.count = *c->get_if<int64_t>();
    if (const Value* tm = t->find("time"); tm && tm->is<Timestamp>()) d.time = tm->get_if<Timestamp>()->seconds;
    if (const Value* e = t->find("exchange"); e && e->is<std::string>()) d.exchange = *e->get_if<std::string>();
    if (const Value* ks = t->find("routing-keys"); ks && ks->is<List>()) {
      for (const auto& k : ks->get_if<List>()->items)
        if (k.is<std::string>()) d.routing_keys.push_back(*k.get_if<std::string>());
    }
    if (const Value* oe = t->find("original-expiration"); oe && oe->is<std::string>()) {
      const std::string& s = *oe->get_if<std::string>();
      int64_t ms = 0;
      bool ok = !s.empty() && s.size() < 19;
      for (char c : s) {
        if (c < '0' || c > '9') { ok = false; break; }
        ms = ms * 10 + (c - '0');
      }
      if (ok) d.original_expiration_ms = ms;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace wharf::broker::queue
