#include "broker/routing/json_codec.h"

#include <cmath>
#include <limits>

namespace wharf::broker::routing {

using json = nlohmann::json;

namespace {

Error bad(const std::string& what) { return make_error(Errc::kCorrupt, "routing metadata: " + what); }

std::string to_hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

bool from_hex(std::string_view s, std::string* out) {
  if (s.size() % 2) return false;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = v(s[i]), lo = v(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(char(hi << 4 | lo));
  }
  return true;
}

bool get_i64(const json& j, int64_t* out) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX)) return false;
    *out = j.get<int64_t>();
    return true;
  }
  return false;
}

json float_to_json(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

bool float_from_json(const json& j, double* out) {
  if (j.is_number()) {
    *out = j.get<double>();
    return true;
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") *out = std::numeric_limits<double>::quiet_NaN();
    else if (s == "inf") *out = std::numeric_limits<double>::infinity();
    else if (s == "-inf") *out = -std::numeric_limits<double>::infinity();
    else return false;
    return true;
  }
  return false;
}

template <class T>
result<Value> int_value(const json& p) {
  int64_t v;
  if (!get_i64(p, &v) || v < int64_t(std::numeric_limits<T>::min()) || v > int64_t(std::numeric_limits<T>::max()))
    return bad("integer out of range");
  return Value(T(v));
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

json text_to_json(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  return json{{"hex", to_hex(s)}};
}

result<std::string> text_from_json(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("hex") && j["hex"].is_string()) {
    std::string out;
    if (from_hex(j["hex"].get_ref<const std::string&>(), &out)) return out;
  }
  return bad("expected text");
}

json value_to_json(const Value& v) {
  json payload = std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x;
        else if constexpr (std::is_integral_v<T>) return int64_t(x);
        else if constexpr (std::is_floating_point_v<T>) return float_to_json(double(x));
        else if constexpr (std::is_same_v<T, Decimal>) return json::array({int(x.scale), x.value});
        else if constexpr (std::is_same_v<T, std::string>) return text_to_json(x);
        else if constexpr (std::is_same_v<T, Bytes>) return to_hex(x.data);
        else if constexpr (std::is_same_v<T, Array>) {
          json a = json::array();
          for (const auto& e : x.values) a.push_back(value_to_json(e));
          return a;
        } else if constexpr (std::is_same_v<T, Timestamp>) return x.seconds;
        else if constexpr (std::is_same_v<T, Table>) return table_to_json(x);
        else return nullptr;
      },
      v.v);
  return json::array({std::string(1, v.tag()), std::move(payload)});
}

result<Value> value_from_json(const json& j) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_string() || j[0].get_ref<const std::string&>().size() != 1)
    return bad("expected [tag, value]");
  char tag = j[0].get_ref<const std::string&>()[0];
  const json& p = j[1];
  switch (tag) {
    case 't':
      if (!p.is_boolean()) return bad("expected bool");
      return Value(p.get<bool>());
    case 'b': return int_value<int8_t>(p);
    case 'B': return int_value<uint8_t>(p);
    case 's': return int_value<int16_t>(p);
    case 'u': return int_value<uint16_t>(p);
    case 'I': return int_value<int32_t>(p);
    case 'i': return int_value<uint32_t>(p);
    case 'l': return int_value<int64_t>(p);
    case 'f':
    case 'd': {
      double d;
      if (!float_from_json(p, &d)) return bad("expected a number");
      return tag == 'f' ? Value(float(d)) : Value(d);
    }
    case 'D': {
      int64_t scale, value;
      if (!p.is_array() || p.size() != 2 || !get_i64(p[0], &scale) || !get_i64(p[1], &value) || scale < 0 ||
          scale > 255 || value < INT32_MIN || value > INT32_MAX)
        return bad("bad decimal");
      return Value(Decimal{uint8_t(scale), int32_t(value)});
    }
    case 'S': {
      auto s = text_from_json(p);
      if (!s.ok()) return s.error();
      return Value(std::move(*s));
    }
    case 'x': {
      Bytes b;
      if (!p.is_string() || !from_hex(p.get_ref<const std::string&>(), &b.data)) return bad("bad bytes");
      return Value(std::move(b));
    }
    case 'A': {
      if (!p.is_array()) return bad("expected array");
      Array a;
      for (const auto& e : p) {
        auto v = value_from_json(e);
        if (!v.ok()) return v.error();
        a.values.push_back(std::move(*v));
      }
      return Value(std::move(a));
    }
    case 'T':
      if (!p.is_number_unsigned() && !(p.is_number_integer() && p.get<int64_t>() >= 0)) return bad("bad timestamp");
      return Value(Timestamp{p.get<uint64_t>()});
    case 'F': {
      auto t = table_from_json(p);
      if (!t.ok()) return t.error();
      return Value(std::move(*t));
    }
    case 'V': return Value();
  }
  return bad(std::string("unknown value tag ") + tag);
}

json table_to_json(const Table& t) {
  json a = json::array();
  for (const auto& e : t.entries) a.push_back(json::array({text_to_json(e.name), value_to_json(e.value)}));
  return a;
}

result<Table> table_from_json(const json& j) {
  if (!j.is_array()) return bad("expected a table");
  Table t;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 2) return bad("expected [name, value]");
    auto name = text_from_json(e[0]);
    if (!name.ok()) return name.error();
    auto v = value_from_json(e[1]);
    if (!v.ok()) return v.error();
    t.entries.push_back(TableEntry{std::move(*name), std::move(*v)});
  }
  return t;
}

}  // namespace wharf::broker::routing
