// Bindings: an exchange (the source) forwards matching messages to a queue,
// to another exchange, or to a Kafka topic of the same broker.
//
// A binding is identified by (source, destination kind, destination, routing
// key, arguments); binding the same tuple twice is a no-op, as in RabbitMQ.
// Arguments are stored sorted by name so that identity does not depend on the
// order a client lists them in.
//
// Durability: a binding is durable (survives restart) exactly when both ends
// are: a durable exchange and a durable queue, a durable destination
// exchange, or a Kafka topic (always durable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "broker/routing/headers_match.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

enum class DestKind : uint8_t {
  kQueue,     // an AMQP/STOMP queue of the same vhost, by name
  kExchange,  // exchange-to-exchange binding (RabbitMQ extension)
  kTopic,     // a Kafka topic, by name (the "stream/topic" destination)
};

std::string_view dest_kind_name(DestKind k);  // "queue", "exchange", "topic"

// A binding as clients and the admin API see it.
struct BindingDef {
  std::string source;  // exchange name
  DestKind kind = DestKind::kQueue;
  std::string destination;
  std::string routing_key;
  Table arguments;
  bool operator==(const BindingDef&) const = default;
};

class Exchange;
struct Binding;

// A vertex of one vhost's routing graph that bindings can point at. Every
// destination is owned by its vhost; `inbound` lists the bindings that end
// here so that removing the destination removes them.
struct Node {
  DestKind kind;
  std::string name;
  std::unordered_set<Binding*> inbound;
  Node(DestKind k, std::string n) : kind(k), name(std::move(n)) {}
  virtual ~Node() = default;
};

// A Kafka topic as a destination. Exists while bindings point at it.
struct TopicNode : Node {
  explicit TopicNode(std::string n) : Node(DestKind::kTopic, std::move(n)) {}
};

// A binding inside the graph. Owned by its source exchange.
struct Binding {
  BindingDef def;  // arguments sorted by name
  std::string id;  // binding_identity(): the key in source->bindings
  Exchange* source = nullptr;
  Node* dest = nullptr;
  bool durable = false;
  std::optional<HeadersPattern> headers;  // compiled when the source is a headers exchange
  size_t list_pos = 0;                    // index in the source's fanout/headers list
};

// The identity of a binding within its source exchange, as a map key.
std::string binding_identity(DestKind kind, std::string_view dest, std::string_view key, const Table& sorted_args);

}  // namespace wharf::broker::routing
