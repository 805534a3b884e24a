// Selector identifiers on a protocol-neutral queue::Message: JMS header
// fields (JMSPriority, JMSMessageID, ...) from its properties, everything
// else from its application headers. docs/selectors.md has the mapping.
//
// Thread rules: a MessageFields borrows the message; use it only while the
// message lives and is not modified.
#pragma once

#include "broker/queue/message.h"
#include "broker/selector/selector.h"

namespace wharf::broker::selector {

class MessageFields : public Fields {
 public:
  explicit MessageFields(const queue::Message& m) : m_(m) {}
  Operand get(std::string_view name) const override;

 private:
  const queue::Message& m_;
};

// evaluate() with identifiers looked up in `m`.
bool evaluate(const Selector& s, const queue::Message& m);

}  // namespace wharf::broker::selector
