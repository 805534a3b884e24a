#include "broker/queue/value.h"

#include <charconv>

#include <fmt/format.h>

namespace wharf::broker::queue {

bool List::operator==(const List& o) const { return items == o.items; }
bool Table::operator==(const Table& o) const { return fields == o.fields; }

const Value* Table::find(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f.value;
  return nullptr;
}

void Table::set(std::string_view name, Value v) {
  for (auto& f : fields) {
    if (f.name == name) {
      f.value = std::move(v);
      return;
    }
  }
  add(name, std::move(v));
}

void Table::add(std::string_view name, Value v) { fields.push_back(Field{std::string(name), std::move(v)}); }

std::string decimal_text(const Decimal& d) {
  // Widen before negating: -INT32_MIN does not fit in int32.
  int64_t v = d.value;
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (d.scale > 0) {
    // At least one integer digit: 0.05, not .05.
    if (digits.size() <= d.scale) digits.insert(0, d.scale - digits.size() + 1, '0');
    digits.insert(digits.size() - d.scale, 1, '.');
  }
  return v < 0 ? "-" + digits : digits;
}

std::optional<Decimal> parse_decimal_text(std::string_view s) {
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  std::string_view whole = s, fraction;
  if (auto dot = s.find('.'); dot != std::string_view::npos) {
    whole = s.substr(0, dot);
    fraction = s.substr(dot + 1);
    if (fraction.empty()) return std::nullopt;  // "1." has no canonical scale
  }
  if (whole.empty() || fraction.size() > 255) return std::nullopt;
  auto all_digits = [](std::string_view p) {
    for (char c : p)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (!all_digits(whole) || !all_digits(fraction)) return std::nullopt;
  // Leading zeros carry no value; dropping them keeps long zero runs (such as
  // a large scale) from overflowing the accumulator below.
  std::string digits = std::string(whole) + std::string(fraction);
  size_t first = digits.find_first_not_of('0');
  std::string_view significant = first == std::string::npos ? std::string_view("0")
                                                            : std::string_view(digits).substr(first);
  int64_t magnitude = 0;
  auto r = std::from_chars(significant.data(), significant.data() + significant.size(), magnitude);
  if (r.ec != std::errc() || r.ptr != significant.data() + significant.size()) return std::nullopt;
  int64_t v = neg ? -magnitude : magnitude;
  if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
  return Decimal{uint8_t(fraction.size()), int32_t(v)};
}

namespace {

struct Render {
  std::string& out;
  void operator()(const Null&) { out += "null"; }
  void operator()(bool b) { out += b ? "true" : "false"; }
  void operator()(int64_t i) { out += std::to_string(i); }
  void operator()(double d) { out += fmt::format("{}", d); }
  void operator()(const std::string& s) { out += fmt::format("\"{}\"", s); }
  void operator()(const Bytes& b) { out += fmt::format("<{} bytes>", b.data.size()); }
  void operator()(const Timestamp& t) { out += fmt::format("@{}", t.seconds); }
  // The AMQP letter as a suffix, so 1.5D and the double 1.5 read differently.
  void operator()(const Decimal& d) { out += decimal_text(d) + "D"; }
  void operator()(const List& l) {
    out += '[';
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += ", ";
      std::visit(*this, l.items[i].v);
    }
    out += ']';
  }
  void operator()(const Table& t) {
    out += '{';
    for (size_t i = 0; i < t.fields.size(); ++i) {
      if (i) out += ", ";
      out += fmt::format("\"{}\": ", t.fields[i].name);
      std::visit(*this, t.fields[i].value.v);
    }
    out += '}';
  }
};

}  // namespace

std::string to_string(const Value& v) {
  std::string out;
  std::visit(Render{out}, v.v);
  return out;
}

std::string to_string(const Table& t) {
  std::string out;
  Render{out}(t);
  return out;
}

}  // namespace wharf::broker::queue
