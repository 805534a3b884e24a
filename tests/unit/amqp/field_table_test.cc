// Field tables and arrays: every RabbitMQ type tag with its exact bytes,
// nesting, order and duplicates, and hostile tables.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::be32;
using test::Bytes;
using test::cat;
using test::shortstr;
using test::str_bytes;
using test::write_with;

Bytes encode_table(const FieldTable& t) {
  return write_with([&](Writer& w) { w.write_table(t); });
}

FieldTable decode_table(const Bytes& b, bool* ok = nullptr) {
  Reader r(b);
  FieldTable t = r.read_table();
  if (ok) *ok = r.ok() && r.at_end();
  return t;
}

// One entry: short string name, tag, value bytes.
Bytes entry(std::string_view name, char tag, Bytes value) {
  return cat({shortstr(name), {uint8_t(tag)}, value});
}

Bytes table_bytes(Bytes entries) { return cat({be32(uint32_t(entries.size())), entries}); }

TEST(FieldTable, EveryTypeHasRabbitMQsEncoding) {
  FieldTable t;
  t.set("t", true)
      .set("b", int8_t(-2))
      .set("B", uint8_t(0xfe))
      .set("s", int16_t(-3))
      .set("u", uint16_t(0xfffd))
      .set("I", int32_t(-4))
      .set("i", uint32_t(0xfffffffc))
      .set("l", int64_t(-5))
      .set("f", 1.5f)
      .set("d", -2.25)
      .set("D", Decimal{2, -12345})
      .set("S", std::string("str"))
      .set("x", ByteArray{{0x00, 0xff}})
      .set("A", FieldArray{{FieldValue(int32_t(7)), FieldValue("a")}})
      .set("T", Timestamp{1700000000})
      .set("F", FieldTable().set("in", false))
      .set("V", Void{});

  const Bytes expected = table_bytes(cat({
      entry("t", 't', {0x01}),
      entry("b", 'b', {0xfe}),
      entry("B", 'B', {0xfe}),
      entry("s", 's', {0xff, 0xfd}),                       // signed 16-bit, not a short string
      entry("u", 'u', {0xff, 0xfd}),
      entry("I", 'I', {0xff, 0xff, 0xff, 0xfc}),
      entry("i", 'i', {0xff, 0xff, 0xff, 0xfc}),
      entry("l", 'l', {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb}),  // signed 64-bit
      entry("f", 'f', {0x3f, 0xc0, 0x00, 0x00}),           // 1.5f
      entry("d", 'd', {0xc0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}),  // -2.25
      entry("D", 'D', {0x02, 0xff, 0xff, 0xcf, 0xc7}),     // scale 2, -12345
      entry("S", 'S', cat({be32(3), str_bytes("str")})),
      entry("x", 'x', cat({be32(2), {0x00, 0xff}})),
      // Array: byte size (5 + 6 = 11), then tagged values.
      entry("A", 'A', cat({be32(11), {'I', 0, 0, 0, 7}, {'S'}, be32(1), str_bytes("a")})),
      entry("T", 'T', {0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00}),  // 1700000000
      entry("F", 'F', table_bytes(entry("in", 't', {0x00}))),
      entry("V", 'V', {}),
  }));
  EXPECT_EQ(encode_table(t), expected);

  bool ok = false;
  FieldTable back = decode_table(expected, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(back, t);
  for (const auto& e : back.entries) EXPECT_EQ(std::string(1, e.value.tag()), e.name);
}

TEST(FieldTable, KeepsOrderAndDuplicates) {
  const Bytes wire =
      table_bytes(cat({entry("k", 'I', {0, 0, 0, 1}), entry("a", 'V', {}), entry("k", 'I', {0, 0, 0, 2})}));
  bool ok = false;
  FieldTable t = decode_table(wire, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.entries[0].name, "k");
  EXPECT_EQ(t.entries[1].name, "a");
  EXPECT_EQ(*t.find("k")->get_if<int32_t>(), 1);  // find: first match
  EXPECT_EQ(encode_table(t), wire);
}

TEST(FieldTable, SetReplacesTheFirstMatch) {
  FieldTable t;
  t.set("a", int32_t(1)).set("b", int32_t(2)).set("a", "x");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(*t.find("a")->get_if<std::string>(), "x");
  EXPECT_EQ(t.find("zz"), nullptr);
}

TEST(FieldTable, EmptyTableIsFourZeroBytes) {
  EXPECT_EQ(encode_table(FieldTable{}), (Bytes{0, 0, 0, 0}));
}

TEST(FieldTable, NestedTablesAndArraysRoundTrip) {
  // The shape RabbitMQ uses for x-death headers.
  FieldTable death;
  death.set("count", int64_t(3)).set("reason", "expired").set("queue", "q1").set("time", Timestamp{42});
  death.set("routing-keys", FieldArray{{FieldValue("rk1"), FieldValue("rk2")}});
  FieldTable headers;
  headers.set("x-death", FieldArray{{FieldValue(death), FieldValue(death)}});
  headers.set("deep", FieldTable().set("a", FieldArray{{FieldValue(FieldTable().set("b", FieldArray{}))}}));
  Bytes b = encode_table(headers);
  bool ok = false;
  EXPECT_EQ(decode_table(b, &ok), headers);
  EXPECT_TRUE(ok);
}

TEST(FieldTable, FloatsKeepTheirBits) {
  FieldTable t;
  t.set("inf", std::numeric_limits<double>::infinity()).set("neg0", -0.0f);
  Bytes b = encode_table(t);
  FieldTable back = decode_table(b);
  EXPECT_TRUE(std::isinf(*back.find("inf")->get_if<double>()));
  EXPECT_TRUE(std::signbit(*back.find("neg0")->get_if<float>()));
  EXPECT_EQ(encode_table(back), b);
}

TEST(FieldTable, ToStringForLogs) {
  FieldTable t;
  t.set("a", int32_t(1)).set("b", FieldArray{{FieldValue(true), FieldValue("x\"y")}}).set("c", Void{});
  EXPECT_EQ(to_string(t), R"({"a": 1, "b": [true, "x\"y"], "c": void})");
}

TEST(FieldTable, TagTable) {
  EXPECT_EQ(field_index_for_tag('t'), 0);
  EXPECT_EQ(field_index_for_tag('V'), int(std::variant_size_v<FieldVariant>) - 1);
  // The 0-9-1 spec's tags that RabbitMQ does not use.
  EXPECT_EQ(field_index_for_tag('U'), -1);
  EXPECT_EQ(field_index_for_tag('L'), -1);
  for (size_t i = 0; i < sizeof(kFieldTags); ++i) EXPECT_EQ(field_index_for_tag(uint8_t(kFieldTags[i])), int(i));
}

// ---------------------------------------------------------------- hostile

TEST(FieldTableHostile, UnknownTagsFail) {
  for (char tag : {'U', 'L', 'Z', '\0'}) {
    bool ok = true;
    decode_table(table_bytes(entry("k", tag, {0, 0, 0, 0, 0, 0, 0, 0})), &ok);
    EXPECT_FALSE(ok) << "tag " << int(tag);
  }
}

TEST(FieldTableHostile, SizeLargerThanInputFails) {
  Bytes wire{0x7f, 0xff, 0xff, 0xff, 1, 'k', 'V'};
  Reader r(wire);
  r.read_table();
  EXPECT_FALSE(r.ok());
}

TEST(FieldTableHostile, EntryRunningPastTheTableSizeFails) {
  // The table claims 4 bytes, but its entry needs 7; the bytes after it must
  // not be read as part of the entry.
  Bytes wire = cat({be32(4), entry("k", 'I', {0, 0, 0, 1})});
  Reader r(wire);
  r.read_table();
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.error(), "truncated");
}

TEST(FieldTableHostile, ValueLengthPastTheTableFails) {
  // A long string inside the table claiming more bytes than the table has.
  Bytes wire = table_bytes(entry("k", 'S', be32(1000)));
  Reader r(wire);
  r.read_table();
  EXPECT_FALSE(r.ok());
}

TEST(FieldTableHostile, EveryTruncationFails) {
  FieldTable t;
  t.set("a", FieldArray{{FieldValue(int64_t(1)), FieldValue(FieldTable().set("b", "c"))}}).set("d", Decimal{1, 2});
  Bytes full = encode_table(t);
  for (size_t n = 0; n < full.size(); ++n) {
    Reader r(std::span<const uint8_t>(full.data(), n));
    r.read_table();
    EXPECT_FALSE(r.ok()) << "prefix " << n;
  }
}

// n tables, each the only value of the one before: F(F(F(...))). Built
// front to back (level k's size covers the n - k levels inside it) so that
// 100000 levels cost linear time.
Bytes nested_tables(int n) {
  Bytes b;
  for (int k = 1; k <= n; ++k) {
    Bytes size = be32(uint32_t(n - k) * 7);  // each inner level: size 4 + name 2 + tag 1
    b.insert(b.end(), size.begin(), size.end());
    if (k < n) b.insert(b.end(), {1, 'n', 'F'});
  }
  return b;
}

// n arrays nested the same way: A[A[A[...]]].
Bytes nested_arrays(int n) {
  Bytes b;
  for (int k = 1; k <= n; ++k) {
    Bytes size = be32(uint32_t(n - k) * 5);  // each inner level: tag 1 + size 4
    b.insert(b.end(), size.begin(), size.end());
    if (k < n) b.push_back('A');
  }
  return b;
}

TEST(FieldTableHostile, NestingUpToTheLimitIsAccepted) {
  Bytes b = nested_tables(Reader::kMaxDepth);
  Reader r(b);
  r.read_table();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(FieldTableHostile, NestingPastTheLimitFails) {
  for (int n : {Reader::kMaxDepth + 1, 100000}) {
    Bytes b = nested_tables(n);
    Reader r(b);
    r.read_table();
    EXPECT_FALSE(r.ok()) << n;
    EXPECT_STREQ(r.error(), "field tables nested too deeply");
  }
  Bytes a = nested_arrays(100000);
  Reader r(a);
  r.read_array();
  EXPECT_FALSE(r.ok());
  // The limit holds for the reader's lifetime, not just per call.
  Bytes ok = nested_arrays(Reader::kMaxDepth);
  Reader r2(ok);
  r2.read_array();
  EXPECT_TRUE(r2.ok());
}

TEST(FieldTableHostile, ManyTinyEntriesAreBoundedByInput) {
  // 2-byte entries (empty name, void): the count is bounded by the bytes.
  Bytes entries;
  for (int i = 0; i < 10000; ++i) entries.insert(entries.end(), {0, 'V'});
  bool ok = false;
  FieldTable t = decode_table(table_bytes(entries), &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(t.size(), 10000u);
}

}  // namespace
}  // namespace wharf::amqp
