// Value: the protocol-neutral typed value of a message header.
//
// AMQP field tables and STOMP/JMS headers both map onto it, so a message
// published with one protocol can be read with another:
//
//   Value alternative   AMQP field type (in / out)            STOMP / JMS
//   Null                V                                      (absent / null property)
//   bool                t                                      "true" / "false", boolean property
//   int64_t             b B s u I i l in, l out                "123", byte/short/int/long property
//   double              f d in, d out                          "1.5", float/double property
//   Decimal             D                                      "123.45" (exact)
//   std::string         S                                      header text
//   Bytes               x                                      (not representable; base64 is the front end's call)
//   Timestamp           T (seconds)                            long property
//   List                A                                      -
//   Table               F                                      -
//
// Narrow AMQP integer and float types widen to int64/double on the way in;
// what comes back out is the wide type. Decimals are kept exactly (scale and
// digits), never widened to double. Names and entry order are kept, and
// duplicates too (a Table is a list, not a map).
//
// Thread rules: plain values, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wharf::broker::queue {

struct Value;
struct Field;

struct Null {
  bool operator==(const Null&) const = default;
};

// Opaque bytes, as opposed to text (std::string).
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

// Seconds since the epoch (AMQP 'T').
struct Timestamp {
  int64_t seconds = 0;
  bool operator==(const Timestamp&) const = default;
};

// value / 10^scale, exactly (AMQP 'D'). Scale and digits are both kept, so
// 1.50 (scale 2) and 1.5 (scale 1) are different values, as on the wire.
struct Decimal {
  uint8_t scale = 0;
  int32_t value = 0;
  bool operator==(const Decimal&) const = default;
};

struct List {
  std::vector<Value> items;  // Value is complete before any member that needs it is instantiated
  bool operator==(const List& o) const;
};

// Ordered (name, value) entries; lookups are linear (header lists are short).
struct Table {
  std::vector<Field> fields;

  bool empty() const;
  size_t size() const;
  // First entry with this name, or nullptr.
  const Value* find(std::string_view name) const;
  // Replaces the first entry with this name, or appends one.
  void set(std::string_view name, Value v);
  void add(std::string_view name, Value v);  // appends (duplicates allowed)
  bool operator==(const Table& o) const;
};

using ValueVariant = std::variant<Null, bool, int64_t, double, std::string, Bytes, Timestamp, List, Table, Decimal>;

struct Value {
  ValueVariant v;

  Value();  // Null
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, Value>) && std::is_constructible_v<ValueVariant, T&&> &&
            (!std::is_integral_v<std::decay_t<T>> || std::is_same_v<std::decay_t<T>, bool> ||
             std::is_same_v<std::decay_t<T>, int64_t>)
  Value(T&& x) : v(std::forward<T>(x)) {}  // NOLINT: implicit by design
  // Any other integer widens to int64 (a plain `5` would otherwise be ambiguous).
  template <class T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>) && (!std::is_same_v<T, int64_t>)
  Value(T x);  // NOLINT; defined below, where Field is complete (clang needs that)
  Value(const char* s);  // NOLINT: text, not bool

  template <class T>
  bool is() const { return std::holds_alternative<T>(v); }
  template <class T>
  const T* get_if() const { return std::get_if<T>(&v); }
  template <class T>
  T* get_if() { return std::get_if<T>(&v); }

  bool operator==(const Value& o) const { return v == o.v; }
};

struct Field {
  std::string name;
  Value value;
  bool operator==(const Field&) const = default;
};

// Defined where Field/Value are complete.
inline Value::Value() : v(Null{}) {}
inline Value::Value(const char* s) : v(std::string(s)) {}
template <class T>
  requires std::is_integral_v<T> && (!std::is_same_v<T, bool>) && (!std::is_same_v<T, int64_t>)
inline Value::Value(T x) : v(int64_t(x)) {}
inline bool Table::empty() const { return fields.empty(); }
inline size_t Table::size() const { return fields.size(); }

// Exact decimal text of a Decimal: an optional '-', the integer digits, and
// exactly `scale` fraction digits after a '.' (none and no '.' for scale 0):
// {2, 12345} -> "123.45", {3, -5} -> "-0.005", {0, 7} -> "7".
std::string decimal_text(const Decimal& d);
// The inverse of decimal_text: the scale is the number of fraction digits.
// Also accepts leading zeros and "-0"; rejects anything else, more than 255
// fraction digits and digits outside int32. nullopt when rejected.
std::optional<Decimal> parse_decimal_text(std::string_view s);

// Human-readable rendering for logs and test failures.
std::string to_string(const Value& v);
std::string to_string(const Table& t);

}  // namespace wharf::broker::queue
