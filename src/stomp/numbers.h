// Decimal numbers in STOMP header values: the whole value must be the
// number (no sign for unsigned types, no spaces, no trailing bytes).
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace wharf::stomp {

template <class T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace wharf::stomp
