#include "broker/routing/exchange.h"

#include <algorithm>
#include <cassert>

namespace wharf::broker::routing {

std::string_view exchange_type_name(ExchangeType t) {
  switch (t) {
    case ExchangeType::kDirect: return "direct";
    case ExchangeType::kFanout: return "fanout";
    case ExchangeType::kTopic: return "topic";
    case ExchangeType::kHeaders: return "headers";
  }
  return "?";
}

result<ExchangeType> parse_exchange_type(std::string_view name) {
  if (name == "direct") return ExchangeType::kDirect;
  if (name == "fanout") return ExchangeType::kFanout;
  if (name == "topic") return ExchangeType::kTopic;
  if (name == "headers") return ExchangeType::kHeaders;
  return make_error(Errc::kUnsupported, "unknown exchange type '" + std::string(name) + "'");
}

result<DeclaredType> parse_declared_type(std::string_view name, const Table& arguments) {
  if (name != kDelayedMessageType) {
    auto t = parse_exchange_type(name);
    if (!t.ok()) return t.error();
    return DeclaredType{*t, false};
  }
  const Value* v = arguments.find(kDelayedTypeArg);
  const std::string* s = v ? v->as_string() : nullptr;
  auto t = s ? parse_exchange_type(*s) : result<ExchangeType>(make_error(Errc::kUnsupported));
  if (!t.ok())
    return make_error(Errc::kPreconditionFailed,
                      "Invalid argument, 'x-delayed-type' must be an existing exchange type");
  return DeclaredType{*t, true};
}

std::string_view ExchangeDef::declared_type() const {
  return delayed ? kDelayedMessageType : exchange_type_name(type);
}

std::string_view ExchangeDef::alternate_exchange() const {
  const Value* v = arguments.find("alternate-exchange");
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? std::string_view(*s) : std::string_view();
}

bool is_builtin_exchange(std::string_view name) {
  return std::any_of(std::begin(kBuiltinExchanges), std::end(kBuiltinExchanges),
                     [&](const BuiltinExchange& b) { return b.name == name; });
}

void Exchange::index_add(Binding* b) {
  switch (def.type) {
    case ExchangeType::kDirect:
      direct_[b->def.routing_key].push_back(b);
      break;
    case ExchangeType::kTopic: {
      bool ok = topic_.insert(b->def.routing_key, b);
      assert(ok);  // the registry checks the pattern length first
      (void)ok;
      break;
    }
    case ExchangeType::kFanout:
    case ExchangeType::kHeaders:
      b->list_pos = list_.size();
      list_.push_back(b);
      break;
  }
}

void Exchange::index_remove(Binding* b) {
  switch (def.type) {
    case ExchangeType::kDirect: {
      auto it = direct_.find(b->def.routing_key);
      assert(it != direct_.end());
      auto& v = it->second;
      v.erase(std::find(v.begin(), v.end(), b));
      if (v.empty()) direct_.erase(it);
      break;
    }
    case ExchangeType::kTopic:
      topic_.erase(b->def.routing_key, b);
      break;
    case ExchangeType::kFanout:
    case ExchangeType::kHeaders: {
      // Swap-remove keeps removal O(1); order among bindings does not matter.
      assert(b->list_pos < list_.size() && list_[b->list_pos] == b);
      Binding* last = list_.back();
      list_[b->list_pos] = last;
      last->list_pos = b->list_pos;
      list_.pop_back();
      break;
    }
  }
}

std::string_view dest_kind_name(DestKind k) {
  switch (k) {
    case DestKind::kQueue: return "queue";
    case DestKind::kExchange: return "exchange";
    case DestKind::kTopic: return "topic";
  }
  return "?";
}

std::string binding_identity(DestKind kind, std::string_view dest, std::string_view key, const Table& sorted_args) {
  std::string id;
  id.reserve(dest.size() + key.size() + 16);
  id += char('0' + int(kind));
  auto put = [&](std::string_view s) {
    uint32_t n = uint32_t(s.size());
    id.append(reinterpret_cast<const char*>(&n), 4);
    id.append(s);
  };
  put(dest);
  put(key);
  append_canonical(&id, sorted_args);
  return id;
}

}  // namespace wharf::broker::routing
