#include "broker/selector/lexer.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace wharf::broker::selector {
namespace {

bool ident_start(unsigned char c) {
  // Java identifier start; any non-ASCII byte is taken as part of a UTF-8 letter.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}
bool ident_part(unsigned char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = char(x - 32);
    if (y >= 'a' && y <= 'z') y = char(y - 32);
    if (x != y) return false;
  }
  return true;
}

struct Keyword {
  std::string_view word;
  Tok tok;
};
constexpr Keyword kKeywords[] = {
    {"NOT", Tok::kNot},   {"AND", Tok::kAnd},       {"OR", Tok::kOr},   {"BETWEEN", Tok::kBetween},
    {"LIKE", Tok::kLike}, {"ESCAPE", Tok::kEscape}, {"IN", Tok::kIn},   {"IS", Tok::kIs},
    {"NULL", Tok::kNull}, {"TRUE", Tok::kTrue},     {"FALSE", Tok::kFalse},
};

Token error_at(size_t offset, std::string why) {
  Token t;
  t.kind = Tok::kError;
  t.offset = offset;
  t.text = std::move(why);
  return t;
}

}  // namespace

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of selector";
    case Tok::kError: return t.text;
    case Tok::kIdent: return "identifier '" + t.text + "'";
    case Tok::kString: return "string literal";
    case Tok::kInt: case Tok::kDouble: return "number";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kComma: return "','";
    case Tok::kEq: return "'='";
    case Tok::kNe: return "'<>'";
    case Tok::kLt: return "'<'";
    case Tok::kLe: return "'<='";
    case Tok::kGt: return "'>'";
    case Tok::kGe: return "'>='";
    case Tok::kPlus: return "'+'";
    case Tok::kMinus: return "'-'";
    case Tok::kStar: return "'*'";
    case Tok::kSlash: return "'/'";
    default:
      for (const auto& k : kKeywords) {
        if (k.tok == t.kind) return std::string(k.word);
      }
      return "token";
  }
}

Token Lexer::next() {
  while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r' ||
                              s_[pos_] == '\f')) {
    ++pos_;
  }
  Token t;
  t.offset = pos_;
  if (pos_ >= s_.size()) return t;  // kEnd
  const char c = s_[pos_];
  auto single = [&](Tok k, size_t len) {
    t.kind = k;
    pos_ += len;
    return t;
  };
  auto peek = [&](size_t ahead) { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; };
  switch (c) {
    case '(': return single(Tok::kLParen, 1);
    case ')': return single(Tok::kRParen, 1);
    case ',': return single(Tok::kComma, 1);
    case '=': return single(Tok::kEq, 1);
    case '+': return single(Tok::kPlus, 1);
    case '-': return single(Tok::kMinus, 1);
    case '*': return single(Tok::kStar, 1);
    case '/': return single(Tok::kSlash, 1);
    case '<':
      if (peek(1) == '>') return single(Tok::kNe, 2);
      if (peek(1) == '=') return single(Tok::kLe, 2);
      return single(Tok::kLt, 1);
    case '>':
      if (peek(1) == '=') return single(Tok::kGe, 2);
      return single(Tok::kGt, 1);
    case '\'': {
      // '' inside a string literal stands for one quote.
      std::string v;
      size_t i = pos_ + 1;
      for (;;) {
        if (i >= s_.size()) return error_at(pos_, "unterminated string literal");
        if (s_[i] == '\'') {
          if (i + 1 < s_.size() && s_[i + 1] == '\'') {
            v.push_back('\'');
            i += 2;
            continue;
          }
          break;
        }
        v.push_back(s_[i++]);
      }
      t.kind = Tok::kString;
      t.text = std::move(v);
      pos_ = i + 1;
      return t;
    }
    default: break;
  }
  if (digit(c) || (c == '.' && digit(peek(1)))) return number(pos_);
  if (ident_start(static_cast<unsigned char>(c))) {
    size_t i = pos_;
    while (i < s_.size() && ident_part(static_cast<unsigned char>(s_[i]))) ++i;
    std::string_view word = s_.substr(pos_, i - pos_);
    pos_ = i;
    for (const auto& k : kKeywords) {
      if (iequals(word, k.word)) {
        t.kind = k.tok;
        return t;
      }
    }
    t.kind = Tok::kIdent;
    t.text = std::string(word);
    return t;
  }
  return error_at(pos_, "unexpected character");
}

// Numbers follow Java literals, as JMS says: decimal, 0x hex and 0-led octal
// exact integers with an optional L suffix, and approximate numbers with a
// '.' and/or exponent and an optional F/D suffix.
Token Lexer::number(size_t start) {
  Token t;
  t.offset = start;
  size_t i = start;
  auto at = [&](size_t k) { return k < s_.size() ? s_[k] : '\0'; };
  auto finish_ident_check = [&](size_t end) -> bool {
    // "12abc" is one malformed token, not a number followed by an identifier.
    return !(end < s_.size() && ident_part(static_cast<unsigned char>(s_[end])));
  };
  if (at(i) == '0' && (at(i + 1) == 'x' || at(i + 1) == 'X')) {
    size_t j = i + 2;
    uint64_t v = 0;
    size_t ndig = 0;
    while (std::isxdigit(static_cast<unsigned char>(at(j)))) {
      const char h = at(j);
      const unsigned d = digit(h) ? unsigned(h - '0') : unsigned((h | 0x20) - 'a' + 10);
      if (v > (uint64_t(std::numeric_limits<int64_t>::max()) >> 4)) return error_at(start, "integer literal out of range");
      v = v * 16 + d;
      ++j;
      ++ndig;
    }
    if (ndig == 0) return error_at(start, "malformed hexadecimal literal");
    if (at(j) == 'l' || at(j) == 'L') ++j;
    if (!finish_ident_check(j)) return error_at(start, "malformed number");
    t.kind = Tok::kInt;
    t.int_value = int64_t(v);
    pos_ = j;
    return t;
  }
  size_t j = i;
  while (digit(at(j))) ++j;
  bool approximate = false;
  if (at(j) == '.') {
    approximate = true;
    ++j;
    while (digit(at(j))) ++j;
  }
  if (at(j) == 'e' || at(j) == 'E') {
    size_t k = j + 1;
    if (at(k) == '+' || at(k) == '-') ++k;
    if (!digit(at(k))) return error_at(start, "malformed exponent");
    while (digit(at(k))) ++k;
    j = k;
    approximate = true;
  }
  std::string digits(s_.substr(i, j - i));
  if (approximate || at(j) == 'f' || at(j) == 'F' || at(j) == 'd' || at(j) == 'D') {
    if (at(j) == 'f' || at(j) == 'F' || at(j) == 'd' || at(j) == 'D') ++j;
    if (!finish_ident_check(j)) return error_at(start, "malformed number");
    errno = 0;
    const double d = std::strtod(digits.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(d)) return error_at(start, "approximate literal out of range");
    t.kind = Tok::kDouble;
    t.double_value = d;
    pos_ = j;
    return t;
  }
  const bool octal = digits.size() > 1 && digits[0] == '0';
  const unsigned base = octal ? 8 : 10;
  uint64_t v = 0;
  for (char ch : digits) {
    const unsigned d = unsigned(ch - '0');
    if (d >= base) return error_at(start, "malformed octal literal");
    if (v > (uint64_t(std::numeric_limits<int64_t>::max()) - d) / base) {
      return error_at(start, "integer literal out of range");
    }
    v = v * base + d;
  }
  if (at(j) == 'l' || at(j) == 'L') ++j;
  if (!finish_ident_check(j)) return error_at(start, "malformed number");
  t.kind = Tok::kInt;
  t.int_value = int64_t(v);
  pos_ = j;
  return t;
}

}  // namespace wharf::broker::selector
