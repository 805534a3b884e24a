// AMQP field tables and field arrays: the typed key/value maps carried by
// method arguments (queue.declare "arguments", connection.start
// "server-properties", ...) and by the "headers" message property.
//
// Type tags follow RabbitMQ's table of field types (the 0-9-1 errata), not the
// 0-9-1 spec, which every client library in use (pika, amqplib, rabbitmq-c,
// the Java client) follows too. The two differ: RabbitMQ's 's' is a signed
// 16-bit integer (the spec's 's' is a short string, which RabbitMQ does not
// have), 'l' is a signed 64-bit integer (spec: unsigned), and 'x' (byte array)
// exists only in RabbitMQ. The spec's 'U', 'L' and short-string 's' are not
// accepted.
//
//   tag  C++ alternative  wire encoding (big-endian)
//   t    bool             octet, 0 = false (any non-zero reads as true)
//   b    int8_t           octet
//   B    uint8_t          octet
//   s    int16_t          2 octets
//   u    uint16_t         2 octets
//   I    int32_t          4 octets
//   i    uint32_t         4 octets
//   l    int64_t          8 octets
//   f    float            4 octets, IEEE 754
//   d    double           8 octets, IEEE 754
//   D    Decimal          octet scale, then 4-octet value
//   S    std::string      long string: 4-octet length, then bytes
//   x    ByteArray        4-octet length, then bytes
//   A    FieldArray       4-octet byte size, then field values (tag + value)
//   T    Timestamp        8 octets (seconds since the epoch)
//   F    FieldTable       4-octet byte size, then entries
//   V    Void             nothing
//
// A table entry is a short string name (octet length, then bytes) followed
// by a tag octet and the value. Entries keep their wire order and duplicates
// are kept as received, so a decoded table re-encodes to the same bytes.
//
// Nesting (tables and arrays inside each other) is limited to
// Reader::kMaxDepth levels when decoding, so hostile input cannot exhaust the
// stack.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wharf::amqp {

struct FieldValue;
struct FieldEntry;

// 'D': value / 10^scale. The errata call the value a signed integer; the bits
// are kept as read, so any value round-trips.
struct Decimal {
  uint8_t scale = 0;
  int32_t value = 0;
  bool operator==(const Decimal&) const = default;
};

// 'T': a 64-bit time stamp, seconds since the epoch (POSIX time_t).
struct Timestamp {
  uint64_t seconds = 0;
  bool operator==(const Timestamp&) const = default;
};

// 'V': no value.
struct Void {
  bool operator==(const Void&) const = default;
};

// 'x': opaque bytes (RabbitMQ extension); 'S' is used for text.
struct ByteArray {
  std::vector<uint8_t> bytes;
  bool operator==(const ByteArray&) const = default;
};

// 'A': a sequence of values; each element carries its own tag.
struct FieldArray {
  std::vector<FieldValue> values;  // FieldValue is complete before use
  bool operator==(const FieldArray& o) const;
};

// 'F': ordered entries; lookups are linear (tables are small).
struct FieldTable {
  std::vector<FieldEntry> entries;  // FieldEntry is complete before use

  bool empty() const;
  size_t size() const;

  // First entry with this name, or nullptr.
  const FieldValue* find(std::string_view name) const;
  FieldValue* find(std::string_view name);

  // Replaces the value of the first entry with this name, or appends one.
  FieldTable& set(std::string_view name, FieldValue value);

  bool operator==(const FieldTable& o) const;
};

using FieldVariant = std::variant<bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                                  float, double, Decimal, std::string, ByteArray, FieldArray, Timestamp,
                                  FieldTable, Void>;

// One typed value. Constructible from any alternative, e.g.
//   FieldValue(int32_t{5}), FieldValue(std::string("x")), FieldValue(true).
struct FieldValue {
  FieldVariant v;

  FieldValue();  // Void
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, FieldValue>) && std::is_constructible_v<FieldVariant, T&&>
  FieldValue(T&& x) : v(std::forward<T>(x)) {}  // NOLINT: implicit by design
  // A C string would otherwise pick bool.
  FieldValue(const char* s);  // NOLINT

  // The wire tag of the held alternative ('t', 'b', ... 'V').
  char tag() const;

  template <class T>
  bool is() const { return std::holds_alternative<T>(v); }
  template <class T>
  const T* get_if() const { return std::get_if<T>(&v); }
  template <class T>
  T* get_if() { return std::get_if<T>(&v); }

  bool operator==(const FieldValue& o) const { return v == o.v; }
};

struct FieldEntry {
  std::string name;  // at most 255 bytes on the wire (short string)
  FieldValue value;
  bool operator==(const FieldEntry&) const = default;
};

// Defined here, where FieldEntry is complete: they destroy or size vectors of
// it, which needs a complete element type (GCC is lenient here, clang is not).
inline FieldValue::FieldValue() : v(Void{}) {}
inline FieldValue::FieldValue(const char* s) : v(std::string(s)) {}
inline bool FieldTable::empty() const { return entries.empty(); }
inline size_t FieldTable::size() const { return entries.size(); }

// The tags RabbitMQ accepts, in the order of FieldVariant's alternatives:
// kFieldTags[v.index()] is the tag of v.
inline constexpr char kFieldTags[] = {'t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f',
                                      'd', 'D', 'S', 'x', 'A', 'T', 'F', 'V'};
static_assert(sizeof(kFieldTags) == std::variant_size_v<FieldVariant>);

// Variant index for a wire tag, or -1 for a tag RabbitMQ does not define.
int field_index_for_tag(uint8_t tag);

// Human-readable rendering for logs: {"a": 1, "b": [true, "x"]}.
std::string to_string(const FieldTable& t);
std::string to_string(const FieldValue& v);

}  // namespace wharf::amqp
