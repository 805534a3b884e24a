#include "broker/selector/message_fields.h"

#include <cmath>

namespace wharf::broker::selector {
namespace {

using queue::Message;

// Header value types with no selector counterpart (bytes, lists, tables)
// are treated as absent.
Operand from_header(const queue::Value& hv) {
  if (const auto* b = hv.get_if<bool>()) return *b;
  if (const auto* i = hv.get_if<int64_t>()) return *i;
  if (const auto* d = hv.get_if<double>()) return *d;
  if (const auto* s = hv.get_if<std::string>()) return std::string_view(*s);
  if (const auto* t = hv.get_if<queue::Timestamp>()) return t->seconds;
  if (const auto* dec = hv.get_if<queue::Decimal>()) {
    return double(dec->value) / std::pow(10.0, double(dec->scale));
  }
  return std::monostate{};
}

Operand from_opt(const std::optional<std::string>& s) {
  if (!s) return std::monostate{};
  return std::string_view(*s);
}

Operand lookup(std::string_view name, const Message& m) {
  // JMS header fields come from the message properties; every other name
  // (including JMSX* properties) is an application header.
  if (name.size() > 3 && name.substr(0, 3) == "JMS") {
    if (name == "JMSPriority") return int64_t(m.props.priority.value_or(4));
    if (name == "JMSMessageID") return from_opt(m.props.message_id);
    if (name == "JMSCorrelationID") return from_opt(m.props.correlation_id);
    if (name == "JMSType") return from_opt(m.props.type);
    if (name == "JMSTimestamp") {
      // Seconds on the wire, milliseconds in JMS; a time too far out for
      // that reads as absent.
      int64_t ms = 0;
      if (!m.props.timestamp || __builtin_mul_overflow(*m.props.timestamp, int64_t(1000), &ms)) {
        return std::monostate{};
      }
      return ms;
    }
    if (name == "JMSDeliveryMode") {
      return std::string_view(m.props.persistent() ? "PERSISTENT" : "NON_PERSISTENT");
    }
    // The queue does not track redelivery per message in its properties.
    if (name == "JMSRedelivered") return std::monostate{};
  }
  const queue::Value* hv = m.headers.find(name);
  return hv ? from_header(*hv) : Operand{std::monostate{}};
}

}  // namespace

Operand MessageFields::get(std::string_view name) const { return lookup(name, m_); }

bool evaluate(const Selector& s, const queue::Message& m) { return evaluate(s, MessageFields(m)); }

}  // namespace wharf::broker::selector
