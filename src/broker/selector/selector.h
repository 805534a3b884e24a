// JMS message selectors (the SQL-92 conditional-expression subset of JMS 1.1
// section 3.8.1), protocol-neutral: any front end parses the selector a
// consumer supplies once and evaluates it per message
// (message_fields.h: evaluate(selector, queue::Message)). docs/selectors.md
// describes the grammar and semantics.
//
// Thread rules: a Selector is immutable after parse() and may be shared and
// evaluated from any thread at once (copies share the tree).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"

namespace wharf::broker::selector {

struct Node;

class Selector {
 public:
  Selector(std::shared_ptr<const Node> root, std::string text) : root_(std::move(root)), text_(std::move(text)) {}
  const Node& root() const { return *root_; }
  const std::string& text() const { return text_; }

 private:
  std::shared_ptr<const Node> root_;  // never null
  std::string text_;
};

// Longest chain of nested operators a selector may have. Evaluation and the
// tree's destruction recurse over that depth, so it bounds stack use on
// hostile input.
inline constexpr int kMaxDepth = 200;

// Errc::kInvalidArgument on a syntax error, with a message of the form
// "selector: offset N: expected X, found Y" (N is the byte offset in `text`).
result<Selector> parse(std::string_view text);

// The value of an identifier: monostate is NULL (absent).
using Operand = std::variant<std::monostate, bool, int64_t, double, std::string_view>;

// Where identifiers are looked up. Strings handed out must stay valid until
// evaluate() returns. message_fields.h maps a queue::Message onto this; the
// library itself knows no message type, so it builds anywhere.
class Fields {
 public:
  virtual ~Fields() = default;
  virtual Operand get(std::string_view name) const = 0;
};

// True only when the selector's value is TRUE; FALSE and UNKNOWN (SQL
// three-valued logic) both mean "no match".
bool evaluate(const Selector& s, const Fields& fields);

}  // namespace wharf::broker::selector
