// HeadersPattern: one binding of a headers exchange, compiled from the
// binding's arguments, and RabbitMQ's rule for matching message headers.
//
//   x-match all (default)  every pattern header is present in the message and
//                          equal; a pattern value of type void only asks for
//                          presence
//   x-match any            at least one is
//   all-with-x, any-with-x the same, but pattern headers whose names start
//                          with "x-" take part; without -with-x they are
//                          ignored. "x-match" itself never takes part.
//
// Values are compared as RabbitMQ compares them (Erlang ==): numbers by value
// whatever their type (1 as a byte, a long, a timestamp and 1.0 as a double
// are equal), text and byte arrays by their bytes, booleans only to
// booleans, decimals, arrays and nested tables exactly (type tags included).
// all with no pattern headers matches every message; any with none matches
// nothing.
//
// Thread rules: immutable after compile(); matches() may run concurrently.
#pragma once

#include <span>
#include <vector>

#include "base/result.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

enum class XMatch : uint8_t { kAll, kAny, kAllWithX, kAnyWithX };

// RabbitMQ's header value equality (see the file comment).
bool header_value_equal(const Value& pattern, const Value& data);

// Message headers sorted by name (stable), viewed: the form matches() takes,
// built once per message however many bindings are tried.
void sort_headers(const Table* headers, std::vector<const TableEntry*>* out);

class HeadersPattern {
 public:
  // kPreconditionFailed when x-match is not one of the four strings (RabbitMQ
  // refuses such a binding with 406).
  static result<HeadersPattern> compile(const Table& binding_args);

  XMatch mode() const { return mode_; }
  // REQUIRES: `headers` sorted by name, as sort_headers() leaves them.
  bool matches(std::span<const TableEntry* const> headers) const;

 private:
  XMatch mode_ = XMatch::kAll;
  std::vector<TableEntry> pattern_;  // sorted by name; only entries that take part
};

}  // namespace wharf::broker::routing
