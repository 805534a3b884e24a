// Helpers for the routing registry tests: short constructors for the
// definitions and a route() that returns sorted destination names.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "broker/routing/registry.h"

namespace wharf::broker::routing::testing {

inline std::unique_ptr<Registry> memory_registry() {
  auto r = Registry::open(RegistryOptions{});
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

inline Table table(std::initializer_list<std::pair<const char*, Value>> entries) {
  Table t;
  for (auto& [k, v] : entries) t.entries.push_back(TableEntry{k, v});
  return t;
}

inline ExchangeDef xdef(std::string name, ExchangeType type, bool durable = false, bool auto_delete = false,
                        bool internal = false, Table args = {}) {
  return ExchangeDef{std::move(name), type, durable, auto_delete, internal, std::move(args)};
}

inline QueueDeclare qdecl(std::string name, bool durable = false, bool exclusive = false, bool auto_delete = false,
                          Table args = {}) {
  QueueDeclare d;
  d.name = std::move(name);
  d.durable = durable;
  d.exclusive = exclusive;
  d.auto_delete = auto_delete;
  d.arguments = std::move(args);
  return d;
}

inline BindingDef qbind(std::string source, std::string queue, std::string key, Table args = {}) {
  return BindingDef{std::move(source), DestKind::kQueue, std::move(queue), std::move(key), std::move(args)};
}
inline BindingDef xbind(std::string source, std::string dest, std::string key, Table args = {}) {
  return BindingDef{std::move(source), DestKind::kExchange, std::move(dest), std::move(key), std::move(args)};
}
inline BindingDef tbind(std::string source, std::string topic, std::string key) {
  return BindingDef{std::move(source), DestKind::kTopic, std::move(topic), std::move(key), {}};
}

// Sorted names of where a message goes; Kafka topics as "topic:NAME".
// Fails the test on a routing error.
inline std::vector<std::string> routed(const Registry& r, std::string_view exchange, std::string_view key,
                                       const Table* headers = nullptr, std::string_view vhost = "/") {
  RouteResult out;
  auto st = r.route(vhost, exchange, key, headers, &out);
  EXPECT_TRUE(st.ok()) << st.error().message;
  std::vector<std::string> names;
  for (const auto& d : out.destinations()) names.push_back(d.kind == DestKind::kTopic ? "topic:" + d.name : d.name);
  std::sort(names.begin(), names.end());
  return names;
}

using Names = std::vector<std::string>;

inline void declare_queues(Registry& r, std::initializer_list<const char*> names, std::string_view vhost = "/") {
  for (auto n : names) ASSERT_TRUE(r.declare_queue(vhost, qdecl(n), kNoOwner).ok()) << n;
}

}  // namespace wharf::broker::routing::testing
