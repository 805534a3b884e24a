// Vhost: one virtual host's routing graph. Exchanges, queues and Kafka-topic
// destinations are vertices (Node); bindings are edges owned by their source
// exchange. Names are unique per kind within a vhost.
//
// Invariants (kept by the Registry, checked in debug builds):
// - every Binding is in its source's `bindings` and its type index, and in
//   its destination's `inbound`;
// - a TopicNode exists exactly while some binding points at it;
// - the built-in exchanges (kBuiltinExchanges) always exist.
//
// Thread rules: the Registry's (registry.h).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "broker/routing/binding.h"
#include "broker/routing/exchange.h"
#include "broker/routing/queue_def.h"
#include "broker/routing/topic_trie.h"

namespace wharf::broker::routing {

struct QueueNode : Node {
  explicit QueueNode(QueueDef d) : Node(DestKind::kQueue, d.name), def(std::move(d)) {}
  QueueDef def;
};

template <class T>
using NameMap = std::unordered_map<std::string, std::unique_ptr<T>, StringHash, StringEq>;

struct Vhost {
  std::string name;
  NameMap<Exchange> exchanges;
  NameMap<QueueNode> queues;
  NameMap<TopicNode> topics;

  template <class T>
  static T* find(const NameMap<T>& m, std::string_view n) {
    auto it = m.find(n);
    return it == m.end() ? nullptr : it->second.get();
  }
  Exchange* exchange(std::string_view n) const { return find(exchanges, n); }
  QueueNode* queue(std::string_view n) const { return find(queues, n); }
  TopicNode* topic(std::string_view n) const { return find(topics, n); }
};

}  // namespace wharf::broker::routing
