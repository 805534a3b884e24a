#include "broker/virtual_topics.h"

#include "broker/routing/registry.h"

namespace wharf::broker {

namespace {

bool strip(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string virtual_topic_of(std::string_view queue) {
  std::string_view s = queue;
  if (!strip(s, "Consumer.")) return "";
  size_t dot = s.find('.');
  if (dot == 0 || dot == std::string_view::npos) return "";
  s.remove_prefix(dot + 1);
  std::string_view rest = s;
  if (!strip(rest, "VirtualTopic.") || rest.empty()) return "";
  return std::string(s);
}

status bind_virtual_topic(routing::Registry& registry, std::string_view vhost, std::string_view name) {
  std::string vt = virtual_topic_of(name);
  if (vt.empty()) return {};
  routing::BindingDef b;
  b.source = "amq.topic";
  b.destination = std::string(name);
  b.routing_key = std::move(vt);
  return registry.bind(vhost, b);
}

}  // namespace wharf::broker
