// Selector tokens. Keywords are case-insensitive; identifiers are not.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wharf::broker::selector {

enum class Tok : uint8_t {
  kEnd, kError, kIdent, kString, kInt, kDouble,
  kLParen, kRParen, kComma,
  kEq, kNe, kLt, kLe, kGt, kGe, kPlus, kMinus, kStar, kSlash,
  kNot, kAnd, kOr, kBetween, kLike, kEscape, kIn, kIs, kNull, kTrue, kFalse,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;      // byte offset of the token's first character
  std::string text;       // identifier name, string value (quotes undone) or error text
  int64_t int_value = 0;  // kInt
  double double_value = 0;  // kDouble
};

// How a token is named in "expected ..., found ..." messages.
std::string describe(const Token& t);

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}
  // The next token; kError (with the reason in text) on a malformed one.
  Token next();

 private:
  Token number(size_t start);
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace wharf::broker::selector
