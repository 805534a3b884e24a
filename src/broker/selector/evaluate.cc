// Evaluation with SQL three-valued logic: std::monostate is NULL/UNKNOWN.
// Values are views: strings point into the tree or into what the Fields
// hand out, both of which outlive one evaluate() call.
#include <cmath>
#include <cstdint>
#include <string_view>
#include <variant>

#include "broker/selector/node.h"
#include "broker/selector/selector.h"

namespace wharf::broker::selector {
namespace {

using V = Operand;

bool is_null(const V& v) { return std::holds_alternative<std::monostate>(v); }
bool is_number(const V& v) { return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v); }
double as_double(const V& v) {
  return std::holds_alternative<int64_t>(v) ? double(std::get<int64_t>(v)) : std::get<double>(v);
}

// Three-valued boolean: a non-boolean value in a boolean position is UNKNOWN.
enum class T3 { kFalse, kTrue, kUnknown };
T3 truth(const V& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? T3::kTrue : T3::kFalse;
  return T3::kUnknown;
}
V from_t3(T3 t) {
  if (t == T3::kUnknown) return std::monostate{};
  return t == T3::kTrue;
}

V eval(const Node& n, const Fields& m);

V arith(Op op, const V& a, const V& b) {
  if (!is_number(a) || !is_number(b)) return std::monostate{};
  if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
    const int64_t x = std::get<int64_t>(a), y = std::get<int64_t>(b);
    int64_t r = 0;
    switch (op) {
      case Op::kAdd: if (__builtin_add_overflow(x, y, &r)) return std::monostate{}; return r;
      case Op::kSub: if (__builtin_sub_overflow(x, y, &r)) return std::monostate{}; return r;
      case Op::kMul: if (__builtin_mul_overflow(x, y, &r)) return std::monostate{}; return r;
      default:
        if (y == 0 || (y == -1 && x == INT64_MIN)) return std::monostate{};
        return x / y;  // truncates toward zero, as Java's long division
    }
  }
  const double x = as_double(a), y = as_double(b);
  double r = 0;
  switch (op) {
    case Op::kAdd: r = x + y; break;
    case Op::kSub: r = x - y; break;
    case Op::kMul: r = x * y; break;
    default:
      if (y == 0) return std::monostate{};
      r = x / y;
  }
  if (std::isnan(r)) return std::monostate{};
  return r;
}

// `a op b`; UNKNOWN when either is NULL or the types cannot be compared with `op`.
T3 compare(Op op, const V& a, const V& b) {
  if (is_null(a) || is_null(b)) return T3::kUnknown;
  int c = 0;
  if (is_number(a) && is_number(b)) {
    if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
      const int64_t x = std::get<int64_t>(a), y = std::get<int64_t>(b);
      c = x < y ? -1 : x > y ? 1 : 0;
    } else {
      const double x = as_double(a), y = as_double(b);
      if (std::isnan(x) || std::isnan(y)) return T3::kUnknown;
      c = x < y ? -1 : x > y ? 1 : 0;
    }
  } else if (a.index() == b.index() && (op == Op::kEq || op == Op::kNe)) {
    // Strings and booleans: equality only; no coercion between types.
    c = a == b ? 0 : 1;
  } else {
    return T3::kUnknown;
  }
  bool r = false;
  switch (op) {
    case Op::kEq: r = c == 0; break;
    case Op::kNe: r = c != 0; break;
    case Op::kLt: r = c < 0; break;
    case Op::kLe: r = c <= 0; break;
    case Op::kGt: r = c > 0; break;
    default: r = c >= 0; break;
  }
  return r ? T3::kTrue : T3::kFalse;
}

// Two-pointer wildcard match: a mismatch after a '%' retries one position
// further along the text, so the cost is O(|text| * |pattern|) at worst,
// never exponential.
bool like_match(const std::vector<PatternItem>& p, const std::vector<char32_t>& t) {
  size_t pi = 0, ti = 0;
  size_t star = SIZE_MAX, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi].kind == PatternItem::kAnyRun) {
      star = pi++;
      star_t = ti;
    } else if (pi < p.size() && (p[pi].kind == PatternItem::kAnyOne || p[pi].ch == t[ti])) {
      ++pi;
      ++ti;
    } else if (star != SIZE_MAX) {
      pi = star + 1;
      ti = ++star_t;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi].kind == PatternItem::kAnyRun) ++pi;
  return pi == p.size();
}

T3 negate(T3 t, bool neg) {
  if (!neg || t == T3::kUnknown) return t;
  return t == T3::kTrue ? T3::kFalse : T3::kTrue;
}

V eval(const Node& n, const Fields& m) {
  switch (n.op) {
    case Op::kLiteral:
      return std::visit([](const auto& x) -> V {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::string>) {
          return std::string_view(x);
        } else {
          return x;
        }
      }, n.literal);
    case Op::kIdent: return m.get(n.name);
    case Op::kNot: return from_t3(negate(truth(eval(*n.kids[0], m)), true));
    case Op::kAnd: {
      const T3 a = truth(eval(*n.kids[0], m));
      if (a == T3::kFalse) return false;
      const T3 b = truth(eval(*n.kids[1], m));
      if (b == T3::kFalse) return false;
      return from_t3(a == T3::kTrue && b == T3::kTrue ? T3::kTrue : T3::kUnknown);
    }
    case Op::kOr: {
      const T3 a = truth(eval(*n.kids[0], m));
      if (a == T3::kTrue) return true;
      const T3 b = truth(eval(*n.kids[1], m));
      if (b == T3::kTrue) return true;
      return from_t3(a == T3::kFalse && b == T3::kFalse ? T3::kFalse : T3::kUnknown);
    }
    case Op::kEq: case Op::kNe: case Op::kLt: case Op::kLe: case Op::kGt: case Op::kGe:
      return from_t3(compare(n.op, eval(*n.kids[0], m), eval(*n.kids[1], m)));
    case Op::kAdd: case Op::kSub: case Op::kMul: case Op::kDiv:
      return arith(n.op, eval(*n.kids[0], m), eval(*n.kids[1], m));
    case Op::kNeg: {
      const V v = eval(*n.kids[0], m);
      if (const auto* i = std::get_if<int64_t>(&v)) {
        if (*i == INT64_MIN) return std::monostate{};
        return -*i;
      }
      if (const auto* d = std::get_if<double>(&v)) return -*d;
      return std::monostate{};
    }
    case Op::kBetween: {
      // a BETWEEN b AND c is a >= b AND a <= c, with its UNKNOWNs.
      const V a = eval(*n.kids[0], m);
      const T3 lo = compare(Op::kGe, a, eval(*n.kids[1], m));
      const T3 hi = compare(Op::kLe, a, eval(*n.kids[2], m));
      T3 r = T3::kUnknown;
      if (lo == T3::kFalse || hi == T3::kFalse) {
        r = T3::kFalse;
      } else if (lo == T3::kTrue && hi == T3::kTrue) {
        r = T3::kTrue;
      }
      return from_t3(negate(r, n.negated));
    }
    case Op::kIn: {
      const V a = eval(*n.kids[0], m);
      const auto* s = std::get_if<std::string_view>(&a);
      if (!s) return std::monostate{};  // NULL or not a string
      T3 r = T3::kFalse;
      for (const auto& item : n.in_list) {
        if (item == *s) {
          r = T3::kTrue;
          break;
        }
      }
      return from_t3(negate(r, n.negated));
    }
    case Op::kLike: {
      const V a = eval(*n.kids[0], m);
      const auto* s = std::get_if<std::string_view>(&a);
      if (!s) return std::monostate{};
      return from_t3(negate(like_match(n.pattern, decode_utf8(*s)) ? T3::kTrue : T3::kFalse, n.negated));
    }
    case Op::kIsNull: {
      const bool null = is_null(eval(*n.kids[0], m));
      return null != n.negated;
    }
  }
  return std::monostate{};
}

}  // namespace

std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (!ok) {
      // Python's surrogateescape: a lone surrogate cannot come from valid
      // UTF-8, so a stray byte never equals a real character.
      out.push_back(char32_t(0xDC00 + b0));
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool evaluate(const Selector& s, const Fields& m) {
  const V v = eval(s.root(), m);
  const auto* b = std::get_if<bool>(&v);
  return b && *b;
}

}  // namespace wharf::broker::selector
