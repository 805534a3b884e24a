#include "broker/routing/headers_match.h"

#include <gtest/gtest.h>

namespace wharf::broker::routing {
namespace {

Table table(std::initializer_list<std::pair<const char*, Value>> entries) {
  Table t;
  for (auto& [k, v] : entries) t.entries.push_back(TableEntry{k, v});
  return t;
}

bool matches(const Table& binding_args, const Table* headers) {
  auto p = HeadersPattern::compile(binding_args);
  EXPECT_TRUE(p.ok());
  std::vector<const TableEntry*> sorted_headers;
  sort_headers(headers, &sorted_headers);
  return p->matches(sorted_headers);
}

bool matches(const Table& binding_args, const Table& headers) { return matches(binding_args, &headers); }

TEST(HeadersMatch, AllIsTheDefaultAndNeedsEveryHeader) {
  Table b = table({{"format", "pdf"}, {"type", "report"}});
  EXPECT_TRUE(matches(b, table({{"type", "report"}, {"format", "pdf"}, {"extra", int32_t(1)}})));
  EXPECT_FALSE(matches(b, table({{"format", "pdf"}})));
  EXPECT_FALSE(matches(b, table({{"format", "pdf"}, {"type", "log"}})));
  EXPECT_FALSE(matches(b, nullptr));
  Table explicit_all = table({{"x-match", "all"}, {"format", "pdf"}, {"type", "report"}});
  EXPECT_TRUE(matches(explicit_all, table({{"type", "report"}, {"format", "pdf"}})));
}

TEST(HeadersMatch, AnyNeedsOneHeader) {
  Table b = table({{"x-match", "any"}, {"format", "pdf"}, {"type", "report"}});
  EXPECT_TRUE(matches(b, table({{"type", "report"}})));
  EXPECT_TRUE(matches(b, table({{"format", "pdf"}, {"type", "log"}})));
  EXPECT_FALSE(matches(b, table({{"format", "zip"}, {"other", "pdf"}})));
  EXPECT_FALSE(matches(b, nullptr));
}

TEST(HeadersMatch, EmptyPatterns) {
  // all over nothing is true, any over nothing false, as RabbitMQ.
  EXPECT_TRUE(matches(table({}), nullptr));
  EXPECT_TRUE(matches(table({{"x-match", "all"}}), table({{"a", int32_t(1)}})));
  EXPECT_FALSE(matches(table({{"x-match", "any"}}), table({{"a", int32_t(1)}})));
}

TEST(HeadersMatch, VoidPatternMeansPresent) {
  Table b = table({{"flag", Void{}}});
  EXPECT_TRUE(matches(b, table({{"flag", "anything"}})));
  EXPECT_TRUE(matches(b, table({{"flag", Void{}}})));
  EXPECT_FALSE(matches(b, table({{"other", "x"}})));
}

TEST(HeadersMatch, NumbersCompareByValueWhateverTheirType) {
  Table b = table({{"n", int64_t(1)}});
  EXPECT_TRUE(matches(b, table({{"n", int8_t(1)}})));
  EXPECT_TRUE(matches(b, table({{"n", uint32_t(1)}})));
  EXPECT_TRUE(matches(b, table({{"n", 1.0}})));
  EXPECT_TRUE(matches(b, table({{"n", Timestamp{1}}})));
  EXPECT_FALSE(matches(b, table({{"n", 1.5f}})));
  EXPECT_FALSE(matches(b, table({{"n", "1"}})));
  EXPECT_FALSE(matches(b, table({{"n", true}})));
  EXPECT_FALSE(matches(b, table({{"n", Decimal{0, 1}}})));
  EXPECT_TRUE(matches(table({{"big", int64_t(INT64_MAX)}}), table({{"big", int64_t(INT64_MAX)}})));
  EXPECT_FALSE(matches(table({{"big", int64_t(INT64_MAX)}}), table({{"big", int64_t(INT64_MAX - 1)}})));
}

TEST(HeadersMatch, OtherTypes) {
  // Text and byte arrays are both bytes to RabbitMQ.
  EXPECT_TRUE(matches(table({{"s", "abc"}}), table({{"s", Bytes{"abc"}}})));
  EXPECT_FALSE(matches(table({{"s", "abc"}}), table({{"s", "abd"}})));
  EXPECT_TRUE(matches(table({{"b", true}}), table({{"b", true}})));
  EXPECT_FALSE(matches(table({{"b", true}}), table({{"b", false}})));
  EXPECT_TRUE(matches(table({{"d", Decimal{2, 150}}}), table({{"d", Decimal{2, 150}}})));
  // Nested tables and arrays compare exactly, type tags included.
  Table inner_i32 = table({{"a", int32_t(1)}}), inner_i64 = table({{"a", int64_t(1)}});
  EXPECT_TRUE(matches(table({{"t", inner_i32}}), table({{"t", inner_i32}})));
  EXPECT_FALSE(matches(table({{"t", inner_i32}}), table({{"t", inner_i64}})));
  Array arr{{Value(int32_t(1)), Value("x")}};
  EXPECT_TRUE(matches(table({{"a", arr}}), table({{"a", arr}})));
  EXPECT_FALSE(matches(table({{"a", arr}}), table({{"a", Array{{Value(int64_t(1)), Value("x")}}}})));
}

TEST(HeadersMatch, XHeadersIgnoredUnlessWithX) {
  Table all = table({{"x-match", "all"}, {"x-tenant", "t1"}, {"kind", "a"}});
  EXPECT_TRUE(matches(all, table({{"kind", "a"}})));  // x-tenant ignored
  Table all_x = table({{"x-match", "all-with-x"}, {"x-tenant", "t1"}, {"kind", "a"}});
  EXPECT_FALSE(matches(all_x, table({{"kind", "a"}})));
  EXPECT_TRUE(matches(all_x, table({{"kind", "a"}, {"x-tenant", "t1"}})));
  EXPECT_FALSE(matches(all_x, table({{"kind", "a"}, {"x-tenant", "t2"}})));
  Table any = table({{"x-match", "any"}, {"x-tenant", "t1"}});
  EXPECT_FALSE(matches(any, table({{"x-tenant", "t1"}})));  // nothing takes part
  Table any_x = table({{"x-match", "any-with-x"}, {"x-tenant", "t1"}, {"kind", "a"}});
  EXPECT_TRUE(matches(any_x, table({{"x-tenant", "t1"}})));
  EXPECT_FALSE(matches(any_x, table({{"x-tenant", "t2"}})));
  // "x-match" itself never takes part, even with -with-x.
  EXPECT_TRUE(matches(table({{"x-match", "all-with-x"}}), table({})));
}

TEST(HeadersMatch, BadXMatchRefused) {
  auto bad_value = HeadersPattern::compile(table({{"x-match", "some"}}));
  EXPECT_EQ(bad_value.code(), Errc::kPreconditionFailed);
  auto bad_type = HeadersPattern::compile(table({{"x-match", int32_t(1)}}));
  EXPECT_EQ(bad_type.code(), Errc::kPreconditionFailed);
}

TEST(HeadersMatch, DuplicateHeadersUseTheFirst) {
  Table b = table({{"k", "v"}});
  EXPECT_TRUE(matches(b, table({{"k", "v"}, {"k", "w"}})));
  EXPECT_FALSE(matches(b, table({{"k", "w"}, {"k", "v"}})));
}

}  // namespace
}  // namespace wharf::broker::routing
