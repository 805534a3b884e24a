// The parsed selector tree (internal to the selector library).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace wharf::broker::selector {

// A literal: NULL is never written as one (IS NULL is an operator), so
// monostate only appears as the evaluator's UNKNOWN.
using Literal = std::variant<std::monostate, bool, int64_t, double, std::string>;

enum class Op : uint8_t {
  kLiteral, kIdent,
  kNot, kAnd, kOr,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kAdd, kSub, kMul, kDiv, kNeg,
  kBetween,  // kids: value, low, high
  kIn,       // kids: identifier; in_list
  kLike,     // kids: identifier; pattern
  kIsNull,   // kids: identifier
};

// One element of a compiled LIKE pattern, over Unicode code points.
struct PatternItem {
  enum Kind : uint8_t { kChar, kAnyOne, kAnyRun } kind;
  char32_t ch = 0;  // kChar only
};

struct Node {
  Op op = Op::kLiteral;
  bool negated = false;  // NOT BETWEEN / NOT IN / NOT LIKE / IS NOT NULL
  int depth = 1;         // 1 + deepest child; bounded by kMaxDepth
  std::vector<std::unique_ptr<Node>> kids;
  Literal literal;                   // kLiteral
  std::string name;                  // kIdent
  std::vector<std::string> in_list;  // kIn
  std::vector<PatternItem> pattern;  // kLike
};

// Code points of UTF-8 text; a byte that is not part of a valid sequence
// becomes U+DC00 + byte, so any byte string decodes (headers are not validated).
std::vector<char32_t> decode_utf8(std::string_view s);

}  // namespace wharf::broker::selector
