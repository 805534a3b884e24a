#include "broker/routing/json_codec.h"

#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

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

void write_float(std::string* out, double d) {
  if (std::isnan(d)) out->append("\"nan\"");
  else if (std::isinf(d)) out->append(d > 0 ? "\"inf\"" : "\"-inf\"");
  else fmt::format_to(std::back_inserter(*out), "{}", d);  // shortest form that reads back exactly
}

void write_int(std::string* out, int64_t v) {
  fmt::format_int f(v);
  out->append(f.data(), f.size());
}

void write_uint(std::string* out, uint64_t v) {
  fmt::format_int f(v);
  out->append(f.data(), f.size());
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

void write_text(std::string* out, std::string_view s) {
  if (!valid_utf8(s)) {
    out->append("{\"hex\":\"");
    out->append(to_hex(s));
    out->append("\"}");
    return;
  }
  static const char* hex = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(hex[u >> 4]);
      out->push_back(hex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

result<std::string> text_from_json(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("hex") && j["hex"].is_string()) {
    std::string out;
    if (from_hex(j["hex"].get_ref<const std::string&>(), &out)) return out;
  }
  return bad("expected text");
}

void write_value(std::string* out, const Value& v) {
  out->append("[\"");
  out->push_back(v.tag());
  out->append("\",");
  std::visit(
      [out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) out->append(x ? "true" : "false");
        else if constexpr (std::is_integral_v<T>) write_int(out, int64_t(x));
        else if constexpr (std::is_floating_point_v<T>) write_float(out, double(x));
        else if constexpr (std::is_same_v<T, Decimal>) {
          out->push_back('[');
          write_int(out, x.scale);
          out->push_back(',');
          write_int(out, x.value);
          out->push_back(']');
        } else if constexpr (std::is_same_v<T, std::string>) write_text(out, x);
        else if constexpr (std::is_same_v<T, Bytes>) {
          out->push_back('"');
          out->append(to_hex(x.data));
          out->push_back('"');
        } else if constexpr (std::is_same_v<T, Array>) {
          out->push_back('[');
          for (size_t i = 0; i < x.values.size(); ++i) {
            if (i) out->push_back(',');
            write_value(out, x.values[i]);
          }
          out->push_back(']');
        } else if constexpr (std::is_same_v<T, Timestamp>) write_uint(out, x.seconds);
        else if constexpr (std::is_same_v<T, Table>) write_table(out, x);
        else out->append("null");
      },
      v.v);
  out->push_back(']');
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

void write_table(std::string* out, const Table& t) {
  out->push_back('[');
  for (size_t i = 0; i < t.entries.size(); ++i) {
    if (i) out->push_back(',');
    out->push_back('[');
    write_text(out, t.entries[i].name);
    out->push_back(',');
    write_value(out, t.entries[i].value);
    out->push_back(']');
  }
  out->push_back(']');
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

void JsonObject::key(std::string_view k) {
  if (s_.size() > 1) s_.push_back(',');
  s_.push_back('"');
  s_.append(k);
  s_.append("\":");
}

JsonObject& JsonObject::text(std::string_view k, std::string_view v) {
  key(k);
  write_text(&s_, v);
  return *this;
}

JsonObject& JsonObject::boolean(std::string_view k, bool v) {
  key(k);
  s_.append(v ? "true" : "false");
  return *this;
}

JsonObject& JsonObject::number(std::string_view k, uint64_t v) {
  key(k);
  write_uint(&s_, v);
  return *this;
}

JsonObject& JsonObject::table(std::string_view k, const Table& t) {
  key(k);
  write_table(&s_, t);
  return *this;
}

JsonObject& JsonObject::texts(std::string_view k, const std::vector<std::string>& v) {
  key(k);
  s_.push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s_.push_back(',');
    write_text(&s_, v[i]);
  }
  s_.push_back(']');
  return *this;
}

}  // namespace wharf::broker::routing
