// Value and Table: the protocol-neutral typed values of entity arguments
// (exchange, queue and binding "arguments") and of message headers that a
// headers exchange matches on.
//
// The alternatives mirror AMQP 0-9-1 field values as RabbitMQ defines them,
// in the same order as amqp::FieldVariant, so the AMQP front end converts a
// FieldValue by variant index (alternative i has wire tag amqp::kFieldTags[i])
// and STOMP passes plain strings. The types are kept, not collapsed, because
// RabbitMQ's rules depend on them: an argument re-declared as a long where it
// was a short is equivalent, a string is not; nested tables compare exactly.
//
// Thread rules: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wharf::broker::routing {

struct Value;
struct TableEntry;

// value / 10^scale (AMQP 'D').
struct Decimal {
  uint8_t scale = 0;
  int32_t value = 0;
  bool operator==(const Decimal&) const = default;
};

// Seconds since the epoch (AMQP 'T').
struct Timestamp {
  uint64_t seconds = 0;
  bool operator==(const Timestamp&) const = default;
};

// No value (AMQP 'V'). In a headers binding it means "header present".
struct Void {
  bool operator==(const Void&) const = default;
};

// Opaque bytes (AMQP 'x'); distinct from text (AMQP 'S', std::string).
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

struct Array {
  std::vector<Value> values;
  bool operator==(const Array& o) const;
};

// Ordered entries; duplicates are kept as given. Lookups are linear: tables
// of arguments and headers are small.
struct Table {
  std::vector<TableEntry> entries;

  bool empty() const;
  size_t size() const;
  // First entry with this name, or nullptr.
  const Value* find(std::string_view name) const;
  // Replaces the first entry with this name, or appends one.
  Table& set(std::string_view name, Value v);
  bool operator==(const Table& o) const;
};

using ValueVariant = std::variant<bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, float,
                                  double, Decimal, std::string, Bytes, Array, Timestamp, Table, Void>;

// Type tags, by variant index, as AMQP (RabbitMQ's table) spells them.
inline constexpr char kValueTags[] = {'t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f',
                                      'd', 'D', 'S', 'x', 'A', 'T', 'F', 'V'};
static_assert(sizeof(kValueTags) == std::variant_size_v<ValueVariant>);

struct Value {
  ValueVariant v;

  Value();  // Void
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, Value>) && std::is_constructible_v<ValueVariant, T&&>
  Value(T&& x) : v(std::forward<T>(x)) {}  // NOLINT: implicit by design
  Value(const char* s);                     // NOLINT: text, not bool

  char tag() const { return kValueTags[v.index()]; }
  template <class T>
  bool is() const { return std::holds_alternative<T>(v); }
  template <class T>
  const T* get_if() const { return std::get_if<T>(&v); }

  // Any integer alternative (not Timestamp, Decimal or floating point).
  std::optional<int64_t> as_int() const;
  // Text ('S') only.
  const std::string* as_string() const { return get_if<std::string>(); }

  // Exact equality: same type tag and same value.
  bool operator==(const Value& o) const { return v == o.v; }
};

struct TableEntry {
  std::string name;
  Value value;
  bool operator==(const TableEntry&) const = default;
};

inline Value::Value() : v(Void{}) {}
inline Value::Value(const char* s) : v(std::string(s)) {}
inline bool Table::empty() const { return entries.empty(); }
inline size_t Table::size() const { return entries.size(); }

// RabbitMQ's "type class" equivalence, used when a re-declare's argument is
// compared with the stored one: integers of any width are one class, float
// and double another, every other type its own; values must then be equal.
bool equivalent(const Value& a, const Value& b);

// The entries sorted by name (stable: duplicates keep their order). Binding
// arguments are stored this way so that unbind finds a binding whatever order
// the client lists the arguments in, as RabbitMQ does.
Table sorted(Table t);

// Appends an unambiguous byte encoding (type tags and lengths included):
// equal encodings exactly when operator== holds (floating point compared
// bitwise: 0.0 and -0.0 differ, a NaN equals itself). Used as a map key.
void append_canonical(std::string* out, const Value& v);
void append_canonical(std::string* out, const Table& t);

// For messages in errors and logs: 5 (long), "x" (longstr), ...
std::string describe(const Value& v);
std::string describe(const Table& t);

}  // namespace wharf::broker::routing
