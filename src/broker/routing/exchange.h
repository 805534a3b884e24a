// Exchanges: their definition (what clients declare) and the per-type index
// that routes a message to the exchange's bindings.
//
//   direct   exact routing key, through a hash map: O(1) + O(matches)
//   fanout   every binding, a plain list: O(bindings), which are all matches
//   topic    "*" and "#" patterns, through a TopicTrie (cost independent of
//            the number of non-matching bindings)
//   headers  every binding's HeadersPattern is tried: O(bindings)
//
// Thread rules: an Exchange lives inside the Registry's graph and follows its
// rules (registry.h): read with any reader slot held, changed only with all.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "broker/routing/binding.h"
#include "broker/routing/topic_trie.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

enum class ExchangeType : uint8_t { kDirect, kFanout, kTopic, kHeaders };

std::string_view exchange_type_name(ExchangeType t);  // "direct", ...
// kUnsupported for a type Wharf does not have (AMQP: 503 COMMAND_INVALID,
// "unknown exchange type 'x'").
result<ExchangeType> parse_exchange_type(std::string_view name);

// The RabbitMQ delayed-message plugin's exchange type. Such an exchange
// routes as its argument "x-delayed-type" says (direct, fanout, topic or
// headers); a message published to it with header "x-delay" > 0 is held by
// the broker's delay engine first (docs/scheduled-delivery.md).
inline constexpr std::string_view kDelayedMessageType = "x-delayed-message";
inline constexpr std::string_view kDelayedTypeArg = "x-delayed-type";

// A declared type name plus arguments as (routing type, delayed): "direct"
// etc. as parse_exchange_type; "x-delayed-message" needs a text argument
// x-delayed-type naming one of them, else kPreconditionFailed.
struct DeclaredType {
  ExchangeType type = ExchangeType::kDirect;
  bool delayed = false;
};
result<DeclaredType> parse_declared_type(std::string_view name, const Table& arguments);

// An exchange as clients and the admin API see it.
struct ExchangeDef {
  std::string name;
  ExchangeType type = ExchangeType::kDirect;
  bool durable = false;
  bool auto_delete = false;  // deleted when its last binding (as source) goes
  bool internal = false;     // clients cannot publish to it directly
  Table arguments;           // "alternate-exchange": longstr; "x-delayed-type" when delayed
  bool delayed = false;      // declared as x-delayed-message; `type` is its x-delayed-type

  // The "alternate-exchange" argument, or "" when none.
  std::string_view alternate_exchange() const;
  // The type as declared: "x-delayed-message" for a delayed exchange, else
  // exchange_type_name(type).
  std::string_view declared_type() const;
  bool operator==(const ExchangeDef&) const = default;
};

// The exchanges every vhost has and clients cannot create or delete: the
// default exchange "" and the amq.* ones.
struct BuiltinExchange {
  std::string_view name;
  ExchangeType type;
};
inline constexpr BuiltinExchange kBuiltinExchanges[] = {
    {"", ExchangeType::kDirect},           {"amq.direct", ExchangeType::kDirect},
    {"amq.fanout", ExchangeType::kFanout}, {"amq.topic", ExchangeType::kTopic},
    {"amq.headers", ExchangeType::kHeaders}, {"amq.match", ExchangeType::kHeaders},
};
bool is_builtin_exchange(std::string_view name);

// An exchange in the routing graph: its definition, the bindings it is the
// source of (owned here), and the index of those bindings for its type.
class Exchange : public Node {
 public:
  explicit Exchange(ExchangeDef d)
      : Node(DestKind::kExchange, d.name), def(std::move(d)), alternate(def.alternate_exchange()) {}

  ExchangeDef def;
  std::string alternate;  // def.alternate_exchange(), kept for the publish path
  // Outbound bindings by binding_identity().
  std::unordered_map<std::string, std::unique_ptr<Binding>> bindings;

  // Adds/removes a binding (owned by `bindings`) to/from the type index.
  void index_add(Binding* b);
  void index_remove(Binding* b);

  // Calls f(const Binding*) for each binding matching any of `keys` (a
  // binding matching several keys may be reported once per key) and
  // returns whether any matched. `headers` are the message headers sorted by
  // name (sort_headers()); only headers exchanges read them.
  template <class F>
  bool match(std::span<const std::string_view> keys, std::span<const TableEntry* const> headers,
             TopicScratch& scratch, F&& f) const {
    bool any = false;
    switch (def.type) {
      case ExchangeType::kDirect:
        for (auto k : keys) {
          auto it = direct_.find(k);
          if (it == direct_.end()) continue;
          for (const Binding* b : it->second) f(b);
          any = any || !it->second.empty();
        }
        break;
      case ExchangeType::kFanout:
        for (const Binding* b : list_) f(b);
        any = !list_.empty();
        break;
      case ExchangeType::kTopic:
        for (auto k : keys)
          topic_.match(k, scratch, [&](const Binding* b) {
            any = true;
            f(b);
          });
        break;
      case ExchangeType::kHeaders:
        for (const Binding* b : list_)
          if (b->headers && b->headers->matches(headers)) {
            any = true;
            f(b);
          }
        break;
    }
    return any;
  }

 private:
  std::unordered_map<std::string, std::vector<Binding*>, StringHash, StringEq> direct_;
  std::vector<Binding*> list_;  // fanout and headers; Binding::list_pos indexes it
  TopicTrie<Binding*> topic_;
};

}  // namespace wharf::broker::routing
