#include "broker/queue/value.h"

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
