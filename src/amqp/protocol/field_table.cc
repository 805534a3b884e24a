#include "amqp/protocol/field_table.h"

#include <cstdio>

namespace wharf::amqp {

bool FieldArray::operator==(const FieldArray& o) const { return values == o.values; }

bool FieldTable::operator==(const FieldTable& o) const { return entries == o.entries; }

const FieldValue* FieldTable::find(std::string_view name) const {
  for (const auto& e : entries) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

FieldValue* FieldTable::find(std::string_view name) {
  for (auto& e : entries) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

FieldTable& FieldTable::set(std::string_view name, FieldValue value) {
  if (FieldValue* v = find(name)) {
    *v = std::move(value);
  } else {
    entries.push_back(FieldEntry{std::string(name), std::move(value)});
  }
  return *this;
}

char FieldValue::tag() const { return kFieldTags[v.index()]; }

int field_index_for_tag(uint8_t tag) {
  for (size_t i = 0; i < sizeof(kFieldTags); ++i) {
    if (uint8_t(kFieldTags[i]) == tag) return int(i);
  }
  return -1;
}

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  out += '"';
}

void append_value(std::string& out, const FieldValue& fv);

void append_table(std::string& out, const FieldTable& t) {
  out += '{';
  bool first = true;
  for (const auto& e : t.entries) {
    if (!first) out += ", ";
    first = false;
    append_quoted(out, e.name);
    out += ": ";
    append_value(out, e.value);
  }
  out += '}';
}

void append_value(std::string& out, const FieldValue& fv) {
  struct Visit {
    std::string& out;
    void operator()(bool x) { out += x ? "true" : "false"; }
    void operator()(int8_t x) { out += std::to_string(int(x)); }
    void operator()(uint8_t x) { out += std::to_string(unsigned(x)); }
    void operator()(int16_t x) { out += std::to_string(x); }
    void operator()(uint16_t x) { out += std::to_string(x); }
    void operator()(int32_t x) { out += std::to_string(x); }
    void operator()(uint32_t x) { out += std::to_string(x); }
    void operator()(int64_t x) { out += std::to_string(x); }
    void operator()(float x) { out += std::to_string(x); }
    void operator()(double x) { out += std::to_string(x); }
    void operator()(const Decimal& x) {
      out += "decimal(" + std::to_string(x.value) + "e-" + std::to_string(unsigned(x.scale)) + ")";
    }
    void operator()(const std::string& x) { append_quoted(out, x); }
    void operator()(const ByteArray& x) { out += "bytes(" + std::to_string(x.bytes.size()) + ")"; }
    void operator()(const FieldArray& x) {
      out += '[';
      for (size_t i = 0; i < x.values.size(); ++i) {
        if (i) out += ", ";
        append_value(out, x.values[i]);
      }
      out += ']';
    }
    void operator()(const Timestamp& x) { out += "timestamp(" + std::to_string(x.seconds) + ")"; }
    void operator()(const FieldTable& x) { append_table(out, x); }
    void operator()(const Void&) { out += "void"; }
  };
  std::visit(Visit{out}, fv.v);
}

}  // namespace

std::string to_string(const FieldTable& t) {
  std::string out;
  append_table(out, t);
  return out;
}

std::string to_string(const FieldValue& v) {
  std::string out;
  append_value(out, v);
  return out;
}

}  // namespace wharf::amqp
