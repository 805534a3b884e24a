// Reader/Writer primitives: varints, compact encodings, hostile lengths.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"
#include "test_util.h"

namespace wharf::kafka {
namespace {

using test::Bytes;

template <class F>
Bytes write(F f) {
  OutBuffer ob;
  Writer w(ob);
  f(w);
  return ob.to_bytes();
}

TEST(Wire, UnsignedVarintKnownBytes) {
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(0); }), (Bytes{0x00}));
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(1); }), (Bytes{0x01}));
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(127); }), (Bytes{0x7f}));
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(128); }), (Bytes{0x80, 0x01}));
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(300); }), (Bytes{0xac, 0x02}));
  EXPECT_EQ(write([](Writer& w) { w.write_uvarint(UINT32_MAX); }),
            (Bytes{0xff, 0xff, 0xff, 0xff, 0x0f}));
}

TEST(Wire, VarintRoundTripsEdgeValues) {
  const uint32_t u32[] = {0, 1, 127, 128, 16383, 16384, (1u << 21) - 1, 1u << 21,
                          (1u << 28) - 1, 1u << 28, UINT32_MAX - 1, UINT32_MAX};
  const int32_t s32[] = {0, 1, -1, 63, -64, 64, -65, INT32_MAX, INT32_MIN, INT32_MIN + 1};
  const uint64_t u64[] = {0, 1, 127, 128, (1ull << 35), (1ull << 63), UINT64_MAX};
  const int64_t s64[] = {0, -1, 1, INT64_MAX, INT64_MIN, INT64_MIN + 1, -(1ll << 40)};
  Bytes b = write([&](Writer& w) {
    for (auto v : u32) w.write_uvarint(v);
    for (auto v : s32) w.write_varint(v);
    for (auto v : u64) w.write_uvarlong(v);
    for (auto v : s64) w.write_varlong(v);
  });
  Reader r{std::span<uint8_t>(b)};
  for (auto v : u32) EXPECT_EQ(r.read_uvarint(), v);
  for (auto v : s32) EXPECT_EQ(r.read_varint(), v);
  for (auto v : u64) EXPECT_EQ(r.read_uvarlong(), v);
  for (auto v : s64) EXPECT_EQ(r.read_varlong(), v);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Wire, ZigZagKnownBytes) {
  EXPECT_EQ(write([](Writer& w) { w.write_varint(0); }), (Bytes{0x00}));
  EXPECT_EQ(write([](Writer& w) { w.write_varint(-1); }), (Bytes{0x01}));
  EXPECT_EQ(write([](Writer& w) { w.write_varint(1); }), (Bytes{0x02}));
  EXPECT_EQ(write([](Writer& w) { w.write_varint(-2); }), (Bytes{0x03}));
  EXPECT_EQ(write([](Writer& w) { w.write_varint(INT32_MIN); }),
            (Bytes{0xff, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(write([](Writer& w) { w.write_varlong(INT64_MIN); }),
            (Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(Wire, MalformedVarintsFail) {
  Bytes too_long{0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  Reader r1{std::span<uint8_t>(too_long)};
  EXPECT_EQ(r1.read_uvarint(), 0u);
  EXPECT_FALSE(r1.ok());

  Bytes overflow{0xff, 0xff, 0xff, 0xff, 0x1f};  // 33 bits
  Reader r2{std::span<uint8_t>(overflow)};
  r2.read_uvarint();
  EXPECT_FALSE(r2.ok());

  Bytes truncated{0x80};
  Reader r3{std::span<uint8_t>(truncated)};
  r3.read_uvarint();
  EXPECT_FALSE(r3.ok());

  Bytes long_overflow(10, 0xff);
  long_overflow.back() = 0x02;  // 65th bit
  Reader r4{std::span<uint8_t>(long_overflow)};
  r4.read_uvarlong();
  EXPECT_FALSE(r4.ok());
}

TEST(Wire, FixedWidthBigEndian) {
  Uuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = uint8_t(i);
  Bytes b = write([&](Writer& w) {
    w.write_int8(-2);
    w.write_int16(0x0102);
    w.write_int32(-1);
    w.write_int64(0x0102030405060708);
    w.write_uint16(0xfffe);
    w.write_uint32(0xdeadbeef);
    w.write_float64(1.5);
    w.write_bool(true);
    w.write_uuid(u);
  });
  ASSERT_EQ(b.size(), 1u + 2 + 4 + 8 + 2 + 4 + 8 + 1 + 16);
  EXPECT_EQ(b[1], 0x01);
  EXPECT_EQ(b[2], 0x02);
  Reader r{std::span<uint8_t>(b)};
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_EQ(r.read_int16(), 0x0102);
  EXPECT_EQ(r.read_int32(), -1);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708);
  EXPECT_EQ(r.read_uint16(), 0xfffe);
  EXPECT_EQ(r.read_uint32(), 0xdeadbeefu);
  EXPECT_EQ(r.read_float64(), 1.5);
  EXPECT_TRUE(r.read_bool());
  EXPECT_EQ(r.read_uuid(), u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(r.read_int32(), 0);  // past the end: zero and sticky error
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.read_int8(), 0);
}

TEST(Wire, CompactStringsBytesArrays) {
  Bytes b = write([](Writer& w) {
    w.write_compact_string("abc");
    w.write_compact_nullable_string(std::nullopt);
    w.write_compact_string("");
    w.write_compact_bytes(Bytes{9, 8});
    w.write_nullable_bytes(std::nullopt, true);
    w.write_compact_array_len(3);
    w.write_compact_array_len(-1);
    w.write_string("xy");
    w.write_nullable_string(std::nullopt);
    w.write_array_len(-1);
  });
  Bytes want{0x04, 'a', 'b', 'c', 0x00, 0x01, 0x03, 9, 8, 0x00, 0x04, 0x00,
             0x00, 0x02, 'x', 'y', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(b, want);
  Reader r{std::span<uint8_t>(b)};
  EXPECT_EQ(r.read_compact_string(), "abc");
  EXPECT_EQ(r.read_compact_nullable_string(), std::nullopt);
  EXPECT_EQ(r.read_compact_string(), "");
  EXPECT_EQ(r.read_compact_bytes(), (Bytes{9, 8}));
  EXPECT_EQ(r.read_nullable_bytes(true), std::nullopt);
  // Array counts are checked against remaining bytes, so read them where
  // enough input follows.
  EXPECT_EQ(r.read_compact_array_len(), 3);
  EXPECT_EQ(r.read_compact_array_len(true), -1);
  EXPECT_EQ(r.read_string(), "xy");
  EXPECT_EQ(r.read_nullable_string(), std::nullopt);
  EXPECT_EQ(r.read_array_len(false, true), -1);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Wire, NullWhereNotNullableFails) {
  Bytes b{0xff, 0xff};
  Reader r{std::span<uint8_t>(b)};
  r.read_string();
  EXPECT_FALSE(r.ok());

  Bytes c{0x00};
  Reader r2{std::span<uint8_t>(c)};
  EXPECT_EQ(r2.read_compact_array_len(), 0);
  EXPECT_FALSE(r2.ok());

  Bytes d{0xff, 0xff, 0xff, 0xff};
  Reader r3{std::span<uint8_t>(d)};
  r3.read_records(false, false);
  EXPECT_FALSE(r3.ok());
}

TEST(Wire, HostileLengthsFailWithoutAllocating) {
  // int32 array count far beyond the input.
  Bytes a{0x7f, 0xff, 0xff, 0xff, 0x00};
  Reader r1{std::span<uint8_t>(a)};
  EXPECT_EQ(r1.read_array_len(), 0);
  EXPECT_FALSE(r1.ok());
  // Negative lengths other than -1.
  Bytes neg{0xff, 0xfe, 0, 0};
  Reader r2{std::span<uint8_t>(neg)};
  r2.read_nullable_string();
  EXPECT_FALSE(r2.ok());
  Bytes negb{0x80, 0, 0, 0};
  Reader r3{std::span<uint8_t>(negb)};
  r3.read_nullable_bytes();
  EXPECT_FALSE(r3.ok());
  // Compact lengths near 2^32.
  Bytes c{0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
  Reader r4{std::span<uint8_t>(c)};
  r4.read_compact_bytes();
  EXPECT_FALSE(r4.ok());
  Reader r5{std::span<uint8_t>(c)};
  r5.read_compact_array_len();
  EXPECT_FALSE(r5.ok());
  // String length one past the end.
  Bytes s{0x00, 0x03, 'a', 'b'};
  Reader r6{std::span<uint8_t>(s)};
  r6.read_string();
  EXPECT_FALSE(r6.ok());
  // Records length past the end.
  Bytes rec{0x00, 0x00, 0x00, 0x05, 1, 2};
  Reader r7{std::span<uint8_t>(rec)};
  Records x = r7.read_records();
  EXPECT_FALSE(r7.ok());
  EXPECT_TRUE(x.data.empty());
  // Tag section claiming 2^32-1 fields ends when the input does.
  Bytes tags{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00};
  Reader r8{std::span<uint8_t>(tags)};
  r8.skip_tags();
  EXPECT_FALSE(r8.ok());
  // Tagged field size past the end.
  Bytes tag2{0x01, 0x00, 0x09, 0x01};
  Reader r9{std::span<uint8_t>(tag2)};
  r9.skip_tags();
  EXPECT_FALSE(r9.ok());
}

TEST(Wire, StickyErrorReturnsZeroValues) {
  Bytes b{0x00, 0x03, 'a', 'b', 'c'};
  Reader r{std::span<uint8_t>(b)};
  r.fail();
  EXPECT_EQ(r.read_string(), "");
  EXPECT_EQ(r.read_int16(), 0);
  EXPECT_TRUE(r.rest().empty());
  EXPECT_FALSE(r.ok());
}

TEST(Wire, NestingDepthLimit) {
  Bytes b{0};
  Reader r{std::span<uint8_t>(b)};
  std::vector<std::unique_ptr<Reader::Nest>> guards;
  for (int i = 0; i < Reader::kMaxDepth; ++i) guards.push_back(std::make_unique<Reader::Nest>(r));
  EXPECT_TRUE(r.ok());
  guards.push_back(std::make_unique<Reader::Nest>(r));
  EXPECT_FALSE(r.ok());
}

TEST(Wire, TaggedFieldsSkipAndRead) {
  OutBuffer v1;
  Writer(v1).write_int32(7);
  Bytes b = write([&](Writer& w) {
    w.write_uvarint(2);
    w.write_tagged_field(1, std::move(v1));
    OutBuffer v2;
    Writer(v2).write_compact_string("hi");
    w.write_tagged_field(5, std::move(v2));
  });
  EXPECT_EQ(b, (Bytes{0x02, 0x01, 0x04, 0, 0, 0, 7, 0x05, 0x03, 0x03, 'h', 'i'}));
  Reader r{std::span<uint8_t>(b)};
  r.skip_tags();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());

  Reader r2{std::span<uint8_t>(b)};
  EXPECT_EQ(r2.read_uvarint(), 2u);
  uint32_t tag = 0;
  Reader t1 = r2.read_tagged_field(tag);
  EXPECT_EQ(tag, 1u);
  EXPECT_EQ(t1.read_int32(), 7);
  Reader t2 = r2.read_tagged_field(tag);
  EXPECT_EQ(tag, 5u);
  EXPECT_EQ(t2.read_compact_string(), "hi");
  EXPECT_TRUE(r2.at_end());
}

TEST(Wire, RecordsEncodeMemThenSlicesZeroCopy) {
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fwrite("0123456789", 1, 10, f), 10u);
  fflush(f);
  Records rec;
  rec.mem = {'<', '>'};
  rec.slices.push_back(FileSlice{nullptr, fileno(f), 3, 4});
  EXPECT_EQ(rec.total_size(), 6u);
  OutBuffer ob;
  Writer w(ob);
  w.write_records(rec, true);
  ASSERT_EQ(ob.chunks().size(), 2u);
  EXPECT_TRUE(ob.chunks()[1].is_file());
  EXPECT_EQ(ob.to_bytes(), (Bytes{0x07, '<', '>', '3', '4', '5', '6'}));

  Records null_rec;
  null_rec.is_null = true;
  EXPECT_EQ(write([&](Writer& w) { w.write_records(null_rec); }), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(write([&](Writer& w) { w.write_records(null_rec, true); }), (Bytes{0x00}));
  EXPECT_EQ(write([&](Writer& w) { w.write_records(null_rec, false, false); }),
            (Bytes{0, 0, 0, 0}));
  fclose(f);
}

TEST(Wire, ErrorCodesMatchKafka) {
  EXPECT_EQ(to_int(ErrorCode::UNKNOWN_SERVER_ERROR), -1);
  EXPECT_EQ(to_int(ErrorCode::NOT_LEADER_OR_FOLLOWER), 6);
  EXPECT_EQ(to_int(ErrorCode::UNSUPPORTED_VERSION), 35);
  EXPECT_EQ(to_int(ErrorCode::INVALID_PRODUCER_ID_MAPPING), 49);
  EXPECT_EQ(to_int(ErrorCode::UNKNOWN_PRODUCER_ID), 59);
  EXPECT_EQ(to_int(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE), 76);
  EXPECT_EQ(to_int(ErrorCode::FENCED_INSTANCE_ID), 82);
  EXPECT_EQ(to_int(ErrorCode::INVALID_RECORD), 87);
  EXPECT_EQ(error_code_name(ErrorCode::NOT_COORDINATOR), "NOT_COORDINATOR");
  EXPECT_EQ(error_code_name(ErrorCode(999)), "UNKNOWN_ERROR_CODE");
}

}  // namespace
}  // namespace wharf::kafka
