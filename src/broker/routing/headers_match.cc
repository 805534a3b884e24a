#include "broker/routing/headers_match.h"

#include <algorithm>
#include <cmath>

namespace wharf::broker::routing {

namespace {

// Erlang numbers: every integer type and the timestamp (an integer of
// seconds), float and double. long double holds every 64-bit integer exactly,
// so integers and doubles compare without rounding surprises.
bool as_number(const Value& v, long double* out) {
  if (auto i = v.as_int()) {
    *out = static_cast<long double>(*i);
    return true;
  }
  if (auto* t = v.get_if<Timestamp>()) {
    *out = static_cast<long double>(t->seconds);
    return true;
  }
  if (auto* f = v.get_if<float>()) {
    *out = *f;
    return true;
  }
  if (auto* d = v.get_if<double>()) {
    *out = *d;
    return true;
  }
  return false;
}

const std::string* as_bytes(const Value& v) {
  if (auto* s = v.get_if<std::string>()) return s;
  if (auto* b = v.get_if<Bytes>()) return &b->data;
  return nullptr;
}

bool with_x(XMatch m) { return m == XMatch::kAllWithX || m == XMatch::kAnyWithX; }
bool all_kind(XMatch m) { return m == XMatch::kAll || m == XMatch::kAllWithX; }

}  // namespace

bool header_value_equal(const Value& pattern, const Value& data) {
  long double a, b;
  if (as_number(pattern, &a)) return as_number(data, &b) && a == b;
  const std::string* ps = as_bytes(pattern);
  if (ps) {
    const std::string* ds = as_bytes(data);
    return ds && *ps == *ds;
  }
  return pattern == data;
}

void sort_headers(const Table* headers, std::vector<const TableEntry*>* out) {
  out->clear();
  if (!headers) return;
  for (const auto& e : headers->entries) out->push_back(&e);
  std::stable_sort(out->begin(), out->end(),
                   [](const TableEntry* a, const TableEntry* b) { return a->name < b->name; });
}

result<HeadersPattern> HeadersPattern::compile(const Table& args) {
  HeadersPattern p;
  if (const Value* xm = args.find("x-match")) {
    const std::string* s = xm->as_string();
    if (!s)
      return make_error(Errc::kPreconditionFailed,
                        "Invalid x-match field type " + describe(*xm) + "; expected longstr");
    if (*s == "all") p.mode_ = XMatch::kAll;
    else if (*s == "any") p.mode_ = XMatch::kAny;
    else if (*s == "all-with-x") p.mode_ = XMatch::kAllWithX;
    else if (*s == "any-with-x") p.mode_ = XMatch::kAnyWithX;
    else
      return make_error(Errc::kPreconditionFailed,
                        "Invalid x-match field value \"" + *s + "\"; expected all, any, all-with-x, or any-with-x");
  }
  for (const auto& e : args.entries) {
    if (e.name == "x-match") continue;
    if (!with_x(p.mode_) && e.name.rfind("x-", 0) == 0) continue;
    p.pattern_.push_back(e);
  }
  std::stable_sort(p.pattern_.begin(), p.pattern_.end(),
                   [](const TableEntry& a, const TableEntry& b) { return a.name < b.name; });
  return p;
}

// A merge of two name-sorted lists, as RabbitMQ's headers_match/5 walks them:
// a data header absent from the pattern is skipped; a pattern header absent
// from the data fails "all"; equal names compare values (void = presence).
bool HeadersPattern::matches(std::span<const TableEntry* const> data) const {
  const bool all_mode = all_kind(mode_);
  bool all = true, any = false;
  size_t p = 0, d = 0;
  while (p < pattern_.size()) {
    if (all_mode && !all) return false;
    if (!all_mode && any) return true;
    if (d == data.size()) {
      all = false;
      break;
    }
    const TableEntry& pe = pattern_[p];
    const TableEntry& de = *data[d];
    int c = pe.name.compare(de.name);
    if (c > 0) {
      ++d;
      continue;
    }
    if (c < 0) {
      all = false;
      ++p;
      continue;
    }
    if (pe.value.is<Void>() || header_value_equal(pe.value, de.value)) any = true;
    else all = false;
    ++p;
    ++d;
  }
  return all_mode ? all : any;
}

}  // namespace wharf::broker::routing
