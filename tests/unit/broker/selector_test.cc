// JMS selectors: parsing (with error positions) and evaluation with SQL
// three-valued logic against a protocol-neutral message.
#include "broker/selector/message_fields.h"

#include <gtest/gtest.h>

#include <string>

namespace wharf::broker::selector {
namespace {

using queue::Message;

// A message with one header of each selector type, plus JMS header fields.
Message sample() {
  Message m;
  m.headers.add("s", "hello");
  m.headers.add("i", int64_t(10));
  m.headers.add("d", 2.5);
  m.headers.add("t", true);
  m.headers.add("f", false);
  m.headers.add("color", "red");
  m.headers.add("path", "a%b_c\\d");
  m.headers.add("uni", "\xC3\xA9t\xC3\xA9");  // "été": 3 characters, 5 bytes
  m.headers.add("bytes", queue::Bytes{"x"});
  m.props.priority = 7;
  m.props.message_id = "ID:1";
  m.props.correlation_id = "corr";
  m.props.type = "order";
  m.props.timestamp = 1700000000;
  m.props.delivery_mode = queue::kDeliveryModePersistent;
  return m;
}

bool matches(const std::string& text, const Message& m = sample()) {
  auto s = parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() && evaluate(*s, m);
}

struct Case {
  const char* selector;
  bool expected;
};

void run_table(const std::vector<Case>& cases) {
  for (const auto& c : cases) EXPECT_EQ(matches(c.selector), c.expected) << c.selector;
}

TEST(Selector, Comparisons) {
  run_table({
      {"i = 10", true}, {"i <> 10", false}, {"i > 9", true}, {"i >= 10", true}, {"i < 10", false},
      {"i <= 10", true}, {"d = 2.5", true}, {"d > 2", true}, {"i = 10.0", true}, {"10 = i", true},
      {"s = 'hello'", true}, {"s <> 'hello'", false}, {"s = 'Hello'", false},
      {"t = TRUE", true}, {"t = true", true}, {"f = FALSE", true}, {"t <> f", true},
      {"t", true}, {"f", false}, {"TRUE", true}, {"FALSE", false},
  });
}

TEST(Selector, NoCoercionBetweenTypes) {
  run_table({
      {"s = 5", false}, {"NOT (s = 5)", false},       // UNKNOWN both ways
      {"i = '10'", false}, {"NOT (i = '10')", false},
      {"t = 1", false}, {"NOT (t = 1)", false},
      {"s < 'z'", false}, {"NOT (s < 'z')", false},  // strings only = and <>
      {"t > f", false}, {"NOT (t > f)", false},
      {"s", false}, {"NOT s", false},                // a string is not a condition
      {"i + s = 10", false}, {"NOT (i + s = 10)", false},
  });
}

TEST(Selector, Arithmetic) {
  run_table({
      {"i + 5 = 15", true}, {"i - 15 = -5", true}, {"i * d = 25", true}, {"i / 4 = 2", true},  // integer division
      {"i / 4.0 = 2.5", true}, {"-i = -10", true}, {"+i = 10", true}, {"- -i = 10", true},
      {"i / 0 = 0", false}, {"NOT (i / 0 = 0)", false},  // division by zero is UNKNOWN
      {"d / 0 > 0", false}, {"NOT (d / 0 > 0)", false},
      {"9223372036854775807 + 1 > 0", false}, {"NOT (9223372036854775807 + 1 > 0)", false},
  });
}

TEST(Selector, Precedence) {
  run_table({
      {"1 + 2 * 3 = 7", true}, {"(1 + 2) * 3 = 9", true}, {"10 - 4 - 3 = 3", true}, {"24 / 4 / 2 = 3", true},
      {"TRUE OR TRUE AND FALSE", true},     // AND binds tighter: TRUE OR (TRUE AND FALSE)
      {"(TRUE OR TRUE) AND FALSE", false},
      {"NOT FALSE AND FALSE", false},       // NOT binds tighter than AND
      {"NOT (FALSE AND FALSE)", true},
      {"i = 10 AND s = 'hello' OR i = 0", true}, {"i = 0 AND (s = 'hello' OR i = 10)", false},
      {"-2 * -3 = 6", true},
  });
}

TEST(Selector, ThreeValuedLogicWithNull) {
  // "missing" is absent, so every comparison with it is UNKNOWN.
  run_table({
      {"missing = 1", false}, {"NOT (missing = 1)", false}, {"missing <> 1", false},
      {"missing = 1 AND TRUE", false}, {"NOT (missing = 1 AND TRUE)", false},   // U AND T = U
      {"missing = 1 AND FALSE", false}, {"NOT (missing = 1 AND FALSE)", true},  // U AND F = F
      {"missing = 1 OR TRUE", true},                                            // U OR T = T
      {"missing = 1 OR FALSE", false}, {"NOT (missing = 1 OR FALSE)", false},   // U OR F = U
      {"missing = 1 OR missing = 2", false}, {"NOT (missing = 1 OR missing = 2)", false},
      {"missing + 1 = 1", false}, {"NOT (missing + 1 = 1)", false},
      {"missing", false}, {"NOT missing", false},
  });
}

TEST(Selector, IsNull) {
  run_table({
      {"missing IS NULL", true}, {"missing IS NOT NULL", false}, {"s IS NULL", false},
      {"s IS NOT NULL", true}, {"bytes IS NULL", true},  // unsupported header types read as NULL
      {"JMSRedelivered IS NULL", true}, {"missing is not null", false},
  });
}

TEST(Selector, Between) {
  run_table({
      {"i BETWEEN 5 AND 10", true}, {"i BETWEEN 10 AND 20", true}, {"i BETWEEN 11 AND 20", false},
      {"i NOT BETWEEN 11 AND 20", true}, {"i NOT BETWEEN 5 AND 15", false}, {"d BETWEEN 2 AND 3", true},
      {"i BETWEEN 1 + 1 AND 2 * 5", true},
      {"missing BETWEEN 1 AND 2", false}, {"missing NOT BETWEEN 1 AND 2", false},
      {"i BETWEEN missing AND 20", false}, {"i NOT BETWEEN missing AND 20", false},
      {"i BETWEEN missing AND 5", false}, {"i NOT BETWEEN missing AND 5", true},  // i <= 5 is FALSE
      {"s BETWEEN 'a' AND 'z'", false}, {"s NOT BETWEEN 'a' AND 'z'", false},
      {"i BETWEEN 5 AND 10 AND s = 'hello'", true},
  });
}

TEST(Selector, In) {
  run_table({
      {"color IN ('red', 'green')", true}, {"color IN ('green', 'blue')", false},
      {"color NOT IN ('green', 'blue')", true}, {"color NOT IN ('red')", false},
      {"missing IN ('red')", false}, {"missing NOT IN ('red')", false},
      {"i IN ('10')", false}, {"i NOT IN ('10')", false},
      {"color in ('RED')", false},
  });
}

TEST(Selector, Like) {
  run_table({
      {"s LIKE 'hello'", true}, {"s LIKE 'h%'", true}, {"s LIKE '%o'", true}, {"s LIKE '%ll%'", true},
      {"s LIKE 'h_llo'", true}, {"s LIKE 'h_lo'", false}, {"s LIKE '%'", true}, {"s LIKE '_____'", true},
      {"s LIKE '______'", false}, {"s LIKE 'H%'", false}, {"s NOT LIKE 'x%'", true}, {"s NOT LIKE 'h%'", false},
      {"s LIKE '%l%l%o'", true}, {"s LIKE '%l%l%l%'", false},
      {"uni LIKE '___'", true}, {"uni LIKE '\xC3\xA9%'", true},  // characters, not bytes
      {"missing LIKE '%'", false}, {"missing NOT LIKE '%'", false},
      {"i LIKE '1%'", false}, {"i NOT LIKE '1%'", false},
  });
}

TEST(Selector, LikeEscape) {
  run_table({
      {"path LIKE 'a\\%b%' ESCAPE '\\'", true},   // \% is a literal %
      {"path LIKE 'ax%%' ESCAPE 'x'", true},      // x% is a literal %, then any run
      {"path LIKE 'ax%' ESCAPE 'x'", false},      // exactly the two characters a%
      {"path LIKE 'a!%b!_c%' ESCAPE '!'", true},
      {"path LIKE 'a!_%' ESCAPE '!'", false},     // second character is %, not _
      {"path LIKE '%\\\\d' ESCAPE '\\'", true},   // \\ is a literal backslash
      {"path LIKE 'a%b_c\\d'", true},             // without ESCAPE, \ is ordinary
      {"s LIKE 'h!%' ESCAPE '!'", false},
  });
}

TEST(Selector, JmsHeaderFields) {
  run_table({
      {"JMSPriority = 7", true}, {"JMSPriority > 5", true}, {"JMSMessageID = 'ID:1'", true},
      {"JMSCorrelationID = 'corr'", true}, {"JMSType = 'order'", true},
      {"JMSTimestamp = 1700000000000", true}, {"JMSDeliveryMode = 'PERSISTENT'", true},
      {"jmspriority = 7", false},  // identifiers are case-sensitive
  });
  Message bare;
  EXPECT_TRUE(matches("JMSPriority = 4", bare));  // JMS default priority
  EXPECT_TRUE(matches("JMSDeliveryMode = 'NON_PERSISTENT'", bare));
  EXPECT_TRUE(matches("JMSMessageID IS NULL AND JMSTimestamp IS NULL", bare));
}

TEST(Selector, HeaderTypesWithoutSelectorCounterpart) {
  Message m;
  m.headers.add("ts", queue::Timestamp{42});
  m.headers.add("dec", queue::Decimal{2, 150});  // 1.50
  m.headers.add("list", queue::List{});
  m.headers.add("void", queue::Value{});
  EXPECT_TRUE(matches("ts = 42", m));
  EXPECT_TRUE(matches("dec = 1.5", m));
  EXPECT_TRUE(matches("list IS NULL AND void IS NULL", m));
  m.props.timestamp = INT64_MAX / 10;  // milliseconds would overflow
  EXPECT_TRUE(matches("JMSTimestamp IS NULL", m));
}

TEST(Selector, Literals) {
  run_table({
      {"'it''s' = 'it''s'", true}, {"'' = ''", true}, {"0x1F = 31", true}, {"017 = 15", true},
      {"10L = 10", true}, {"0 = 0", true}, {"1.5e1 = 15", true}, {"1E-1 < 0.2", true}, {".5 = 0.5", true},
      {"7. = 7", true}, {"2.5F = 2.5", true}, {"3D = 3", true}, {"9223372036854775807 > 0", true},
  });
}

TEST(Selector, KeywordsAreCaseInsensitive) {
  run_table({
      {"i between 5 and 10", true}, {"NoT FaLsE", true}, {"s iS nOt NuLl", true},
      {"color nOt In ('x')", true}, {"path like 'a!%%' escape '!'", true}, {"true Or false", true},
  });
}

struct ErrorCase {
  const char* selector;
  size_t offset;
  const char* expected;  // a substring of the message
};

TEST(Selector, ErrorsNameOffsetAndExpectation) {
  const std::vector<ErrorCase> cases = {
      {"", 0, "expected an identifier, literal or '('"},
      {"i = ", 4, "found end of selector"},
      {"i = 1 )", 6, "expected an operator or end of selector"},
      {"(i = 1", 6, "expected ')'"},
      {"i BETWEEN 1 OR 2", 12, "expected AND"},
      {"i IN (1)", 6, "expected string literal"},
      {"i IN ('a' 'b')", 10, "expected ',' or ')'"},
      {"s LIKE x", 7, "expected string literal pattern"},
      {"s LIKE 'a' ESCAPE 'ab'", 18, "single-character escape"},
      {"s LIKE 'a!b' ESCAPE '!'", 7, "after the escape"},
      {"1 + 1 IN ('a')", 4, "identifier before IN"},
      {"i IS 5", 5, "expected NULL"},
      {"s = 'abc", 4, "unterminated string literal"},
      {"i = 1 # 2", 6, "unexpected character"},
      {"i = 0x", 4, "malformed hexadecimal"},
      {"i = 09", 4, "malformed octal"},
      {"i = 12abc", 4, "malformed number"},
      {"i = 9223372036854775808", 4, "out of range"},
      {"i NOT = 1", 6, "BETWEEN, IN or LIKE after NOT"},
      {"AND = 1", 0, "found AND"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.selector);
    ASSERT_FALSE(r.ok()) << c.selector;
    EXPECT_EQ(r.code(), Errc::kInvalidArgument);
    const std::string& msg = r.error().message;
    EXPECT_NE(msg.find("offset " + std::to_string(c.offset) + ":"), std::string::npos) << c.selector << " -> " << msg;
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.selector << " -> " << msg;
  }
}

TEST(Selector, DeepNestingIsRejectedNotOverflowed) {
  std::string deep(100000, '(');
  auto r = parse(deep + "TRUE");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("less deeply nested"), std::string::npos);
  std::string chain = "1";
  for (int k = 0; k < 5000; ++k) chain += " + 1";
  EXPECT_FALSE(parse(chain + " = 5001").ok());
  std::string nots;
  for (int k = 0; k < 5000; ++k) nots += "NOT ";
  EXPECT_FALSE(parse(nots + "TRUE").ok());
  // Well within the bound still parses.
  std::string ok = "1";
  for (int k = 0; k < 100; ++k) ok += " + 1";
  EXPECT_TRUE(matches(ok + " = 101"));
}

TEST(Selector, SelectorIsReusableAcrossMessages) {
  auto s = parse("color = 'red' AND JMSPriority >= 5");
  ASSERT_TRUE(s.ok());
  Message a = sample();
  Message b = sample();
  b.props.priority = 1;
  Message c;
  EXPECT_TRUE(evaluate(*s, a));
  EXPECT_FALSE(evaluate(*s, b));
  EXPECT_FALSE(evaluate(*s, c));
  EXPECT_EQ(s->text(), "color = 'red' AND JMSPriority >= 5");
}

}  // namespace
}  // namespace wharf::broker::selector
