#include "broker/routing/value.h"

#include <algorithm>

#include <fmt/format.h>

namespace wharf::broker::routing {

bool Array::operator==(const Array& o) const { return values == o.values; }
bool Table::operator==(const Table& o) const { return entries == o.entries; }

const Value* Table::find(std::string_view name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e.value;
  return nullptr;
}

Table& Table::set(std::string_view name, Value v) {
  for (auto& e : entries)
    if (e.name == name) {
      e.value = std::move(v);
      return *this;
    }
  entries.push_back(TableEntry{std::string(name), std::move(v)});
  return *this;
}

std::optional<int64_t> Value::as_int() const {
  return std::visit(
      [](const auto& x) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return int64_t(x);
        else return std::nullopt;
      },
      v);
}

namespace {

std::optional<double> as_float(const Value& v) {
  if (auto* f = v.get_if<float>()) return double(*f);
  if (auto* d = v.get_if<double>()) return *d;
  return std::nullopt;
}

const char* type_name(const Value& v) {
  static const char* names[] = {"bool",     "byte",    "unsignedbyte", "short",     "unsignedshort", "signedint",
                                "unsignedint", "long", "float",        "double",    "decimal",       "longstr",
                                "binary",   "array",   "timestamp",    "table",     "void"};
  static_assert(sizeof(names) / sizeof(names[0]) == std::variant_size_v<ValueVariant>);
  return names[v.v.index()];
}

}  // namespace

bool equivalent(const Value& a, const Value& b) {
  if (auto x = a.as_int()) {
    auto y = b.as_int();
    return y && *x == *y;
  }
  if (auto x = as_float(a)) {
    auto y = as_float(b);
    return y && *x == *y;
  }
  return a == b;
}

Table sorted(Table t) {
  std::stable_sort(t.entries.begin(), t.entries.end(),
                   [](const TableEntry& a, const TableEntry& b) { return a.name < b.name; });
  return t;
}

namespace {

template <class T>
void put_raw(std::string* out, const T& x) {
  out->append(reinterpret_cast<const char*>(&x), sizeof(T));
}
void put_str(std::string* out, std::string_view s) {
  put_raw(out, uint32_t(s.size()));
  out->append(s);
}

}  // namespace

void append_canonical(std::string* out, const Table& t) {
  out->push_back('F');
  put_raw(out, uint32_t(t.entries.size()));
  for (const auto& e : t.entries) {
    put_str(out, e.name);
    append_canonical(out, e.value);
  }
}

void append_canonical(std::string* out, const Value& v) {
  if (auto* t = v.get_if<Table>()) return append_canonical(out, *t);
  out->push_back(v.tag());
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_arithmetic_v<T>) put_raw(out, x);
        else if constexpr (std::is_same_v<T, Decimal>) {
          put_raw(out, x.scale);
          put_raw(out, x.value);
        } else if constexpr (std::is_same_v<T, std::string>) put_str(out, x);
        else if constexpr (std::is_same_v<T, Bytes>) put_str(out, x.data);
        else if constexpr (std::is_same_v<T, Array>) {
          put_raw(out, uint32_t(x.values.size()));
          for (const auto& e : x.values) append_canonical(out, e);
        } else if constexpr (std::is_same_v<T, Timestamp>) put_raw(out, x.seconds);
      },
      v.v);
}

std::string describe(const Value& v) {
  std::string body = std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_integral_v<T>) return std::to_string(int64_t(x));
        else if constexpr (std::is_floating_point_v<T>) return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, Decimal>) return fmt::format("{}e-{}", x.value, int(x.scale));
        else if constexpr (std::is_same_v<T, std::string>) return "\"" + x + "\"";
        else if constexpr (std::is_same_v<T, Bytes>) return fmt::format("<{} bytes>", x.data.size());
        else if constexpr (std::is_same_v<T, Array>) {
          std::string s = "[";
          for (size_t i = 0; i < x.values.size(); ++i) s += (i ? ", " : "") + describe(x.values[i]);
          return s + "]";
        } else if constexpr (std::is_same_v<T, Timestamp>) return std::to_string(x.seconds);
        else if constexpr (std::is_same_v<T, Table>) return describe(x);
        else return "void";
      },
      v.v);
  if (v.is<Table>() || v.is<Array>() || v.is<Void>()) return body;
  return body + " (" + type_name(v) + ")";
}

std::string describe(const Table& t) {
  std::string s = "{";
  for (size_t i = 0; i < t.entries.size(); ++i)
    s += (i ? ", " : "") + ("\"" + t.entries[i].name + "\": ") + describe(t.entries[i].value);
  return s + "}";
}

}  // namespace wharf::broker::routing
