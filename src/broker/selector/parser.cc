// Recursive-descent parser. Precedence, loosest first: OR, AND, NOT,
// comparison / BETWEEN / IN / LIKE / IS NULL, + -, * /, unary + -.
#include <algorithm>
#include <optional>
#include <string>

#include "broker/selector/lexer.h"
#include "broker/selector/node.h"
#include "broker/selector/selector.h"

namespace wharf::broker::selector {
namespace {

using NodePtr = std::unique_ptr<Node>;

class Parser {
 public:
  explicit Parser(std::string_view text) : lex_(text) { advance(); }

  result<Selector> run(std::string text) {
    NodePtr root = or_expr();
    if (root && cur_.kind != Tok::kEnd) root = fail("an operator or end of selector");
    if (!root) return make_error(Errc::kInvalidArgument, error_);
    return Selector(std::shared_ptr<const Node>(std::move(root)), std::move(text));
  }

 private:
  void advance() { cur_ = lex_.next(); }

  // Records the first error and returns null; every caller passes null up.
  NodePtr fail(std::string_view expected) {
    if (error_.empty()) {
      error_ = "selector: offset " + std::to_string(cur_.offset) + ": expected " + std::string(expected) +
               ", found " + describe(cur_);
    }
    return nullptr;
  }

  NodePtr make(Op op, std::vector<NodePtr> kids) {
    auto n = std::make_unique<Node>();
    n->op = op;
    for (const auto& k : kids) n->depth = std::max(n->depth, k->depth + 1);
    n->kids = std::move(kids);
    if (n->depth > kMaxDepth) return fail("a less deeply nested expression");
    return n;
  }
  NodePtr make1(Op op, NodePtr a) {
    std::vector<NodePtr> v;
    v.push_back(std::move(a));
    return make(op, std::move(v));
  }
  NodePtr make2(Op op, NodePtr a, NodePtr b) {
    std::vector<NodePtr> v;
    v.push_back(std::move(a));
    v.push_back(std::move(b));
    return make(op, std::move(v));
  }

  NodePtr or_expr() {
    NodePtr l = and_expr();
    while (l && cur_.kind == Tok::kOr) {
      advance();
      NodePtr r = and_expr();
      if (!r) return nullptr;
      l = make2(Op::kOr, std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr and_expr() {
    NodePtr l = not_expr();
    while (l && cur_.kind == Tok::kAnd) {
      advance();
      NodePtr r = not_expr();
      if (!r) return nullptr;
      l = make2(Op::kAnd, std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr not_expr() {
    if (cur_.kind != Tok::kNot) return predicate();
    // Counted here too: a run of NOTs recurses before any node exists.
    if (++nesting_ > kMaxDepth) return fail("a less deeply nested expression");
    advance();
    NodePtr e = not_expr();
    --nesting_;
    if (!e) return nullptr;
    return make1(Op::kNot, std::move(e));
  }

  NodePtr predicate() {
    NodePtr l = additive();
    if (!l) return nullptr;
    bool negated = false;
    if (cur_.kind == Tok::kNot) {
      negated = true;
      advance();
      if (cur_.kind != Tok::kBetween && cur_.kind != Tok::kIn && cur_.kind != Tok::kLike) {
        return fail("BETWEEN, IN or LIKE after NOT");
      }
    }
    switch (cur_.kind) {
      case Tok::kEq: case Tok::kNe: case Tok::kLt: case Tok::kLe: case Tok::kGt: case Tok::kGe: {
        const Op op = cur_.kind == Tok::kEq ? Op::kEq : cur_.kind == Tok::kNe ? Op::kNe
                    : cur_.kind == Tok::kLt ? Op::kLt : cur_.kind == Tok::kLe ? Op::kLe
                    : cur_.kind == Tok::kGt ? Op::kGt : Op::kGe;
        advance();
        NodePtr r = additive();
        if (!r) return nullptr;
        return make2(op, std::move(l), std::move(r));
      }
      case Tok::kBetween: {
        advance();
        NodePtr lo = additive();
        if (!lo) return nullptr;
        if (cur_.kind != Tok::kAnd) return fail("AND");
        advance();
        NodePtr hi = additive();
        if (!hi) return nullptr;
        std::vector<NodePtr> v;
        v.push_back(std::move(l));
        v.push_back(std::move(lo));
        v.push_back(std::move(hi));
        NodePtr n = make(Op::kBetween, std::move(v));
        if (n) n->negated = negated;
        return n;
      }
      case Tok::kIn: return in_list(std::move(l), negated);
      case Tok::kLike: return like(std::move(l), negated);
      case Tok::kIs: {
        if (l->op != Op::kIdent) return fail_at(l_offset_, "an identifier before IS");
        advance();
        bool is_not = false;
        if (cur_.kind == Tok::kNot) {
          is_not = true;
          advance();
        }
        if (cur_.kind != Tok::kNull) return fail("NULL");
        advance();
        NodePtr n = make1(Op::kIsNull, std::move(l));
        if (n) n->negated = is_not;
        return n;
      }
      default: return l;
    }
  }

  NodePtr fail_at(size_t offset, std::string_view expected) {
    if (error_.empty()) {
      error_ = "selector: offset " + std::to_string(offset) + ": expected " + std::string(expected);
    }
    return nullptr;
  }

  // identifier [NOT] IN ( 'a', 'b', ... ): the spec allows string literals only.
  NodePtr in_list(NodePtr l, bool negated) {
    if (l->op != Op::kIdent) return fail_at(l_offset_, "an identifier before IN");
    advance();
    if (cur_.kind != Tok::kLParen) return fail("'('");
    advance();
    NodePtr n = make1(Op::kIn, std::move(l));
    if (!n) return nullptr;
    n->negated = negated;
    for (;;) {
      if (cur_.kind != Tok::kString) return fail("string literal");
      n->in_list.push_back(cur_.text);
      advance();
      if (cur_.kind == Tok::kComma) {
        advance();
        continue;
      }
      if (cur_.kind != Tok::kRParen) return fail("',' or ')'");
      advance();
      return n;
    }
  }

  // identifier [NOT] LIKE 'pattern' [ESCAPE 'c'].
  NodePtr like(NodePtr l, bool negated) {
    if (l->op != Op::kIdent) return fail_at(l_offset_, "an identifier before LIKE");
    advance();
    if (cur_.kind != Tok::kString) return fail("string literal pattern");
    const std::vector<char32_t> pat = decode_utf8(cur_.text);
    const size_t pattern_offset = cur_.offset;
    advance();
    std::optional<char32_t> esc;
    if (cur_.kind == Tok::kEscape) {
      advance();
      if (cur_.kind != Tok::kString) return fail("string literal escape character");
      const std::vector<char32_t> e = decode_utf8(cur_.text);
      if (e.size() != 1) return fail("a single-character escape string");
      esc = e[0];
      advance();
    }
    NodePtr n = make1(Op::kLike, std::move(l));
    if (!n) return nullptr;
    n->negated = negated;
    for (size_t i = 0; i < pat.size(); ++i) {
      const char32_t c = pat[i];
      if (esc && c == *esc) {
        // SQL: the escape may only precede '%', '_' or itself.
        if (i + 1 >= pat.size() || (pat[i + 1] != U'%' && pat[i + 1] != U'_' && pat[i + 1] != *esc)) {
          return fail_at(pattern_offset, "'%', '_' or the escape character after the escape in the LIKE pattern");
        }
        n->pattern.push_back({PatternItem::kChar, pat[++i]});
      } else if (c == U'%') {
        // Adjacent runs match the same as one.
        if (n->pattern.empty() || n->pattern.back().kind != PatternItem::kAnyRun) {
          n->pattern.push_back({PatternItem::kAnyRun, 0});
        }
      } else if (c == U'_') {
        n->pattern.push_back({PatternItem::kAnyOne, 0});
      } else {
        n->pattern.push_back({PatternItem::kChar, c});
      }
    }
    return n;
  }

  NodePtr additive() {
    NodePtr l = multiplicative();
    while (l && (cur_.kind == Tok::kPlus || cur_.kind == Tok::kMinus)) {
      const Op op = cur_.kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      advance();
      NodePtr r = multiplicative();
      if (!r) return nullptr;
      l = make2(op, std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr multiplicative() {
    NodePtr l = unary();
    while (l && (cur_.kind == Tok::kStar || cur_.kind == Tok::kSlash)) {
      const Op op = cur_.kind == Tok::kStar ? Op::kMul : Op::kDiv;
      advance();
      NodePtr r = unary();
      if (!r) return nullptr;
      l = make2(op, std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr unary() {
    if (cur_.kind != Tok::kPlus && cur_.kind != Tok::kMinus) return primary();
    const bool neg = cur_.kind == Tok::kMinus;
    if (++nesting_ > kMaxDepth) return fail("a less deeply nested expression");
    advance();
    NodePtr e = unary();
    --nesting_;
    if (!e) return nullptr;
    if (!neg) return e;  // unary + does nothing (and does not make a string numeric)
    return make1(Op::kNeg, std::move(e));
  }

  NodePtr primary() {
    l_offset_ = cur_.offset;
    auto lit = [&](Literal v) {
      auto n = std::make_unique<Node>();
      n->op = Op::kLiteral;
      n->literal = std::move(v);
      advance();
      return n;
    };
    switch (cur_.kind) {
      case Tok::kString: return lit(cur_.text);
      case Tok::kInt: return lit(cur_.int_value);
      case Tok::kDouble: return lit(cur_.double_value);
      case Tok::kTrue: return lit(true);
      case Tok::kFalse: return lit(false);
      case Tok::kIdent: {
        auto n = std::make_unique<Node>();
        n->op = Op::kIdent;
        n->name = cur_.text;
        advance();
        return n;
      }
      case Tok::kLParen: {
        if (++nesting_ > kMaxDepth) return fail("a less deeply nested expression");
        advance();
        NodePtr e = or_expr();
        --nesting_;
        if (!e) return nullptr;
        if (cur_.kind != Tok::kRParen) return fail("')'");
        advance();
        return e;
      }
      default: return fail("an identifier, literal or '('");
    }
  }

  Lexer lex_;
  Token cur_;
  std::string error_;
  int nesting_ = 0;       // open parentheses / prefix operators being parsed
  size_t l_offset_ = 0;   // offset of the last primary: where a predicate's left side started
};

}  // namespace

result<Selector> parse(std::string_view text) {
  Parser p(text);
  return p.run(std::string(text));
}

}  // namespace wharf::broker::selector
