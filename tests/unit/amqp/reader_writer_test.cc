// Reader/Writer primitives: exact encodings, sticky errors, hostile lengths.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::Bytes;
using test::write_with;

TEST(Writer, IntegersAreBigEndian) {
  Bytes b = write_with([](Writer& w) {
    w.write_octet(0xab);
    w.write_short(0x1234);
    w.write_long(0x89abcdef);
    w.write_longlong(0x0102030405060708ull);
    w.write_timestamp(0xfffffffffffffffeull);
  });
  EXPECT_EQ(b, (Bytes{0xab, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 8,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}));
  Reader r(b);
  EXPECT_EQ(r.read_octet(), 0xab);
  EXPECT_EQ(r.read_short(), 0x1234);
  EXPECT_EQ(r.read_long(), 0x89abcdefu);
  EXPECT_EQ(r.read_longlong(), 0x0102030405060708ull);
  EXPECT_EQ(r.read_timestamp(), 0xfffffffffffffffeull);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Writer, Strings) {
  std::string bin("a\0\xff", 3);
  Bytes b = write_with([&](Writer& w) {
    w.write_shortstr("hi");
    w.write_shortstr("");
    w.write_longstr(bin);
  });
  EXPECT_EQ(b, (Bytes{2, 'h', 'i', 0, 0, 0, 0, 3, 'a', 0, 0xff}));
  Reader r(b);
  EXPECT_EQ(r.read_shortstr(), "hi");
  EXPECT_EQ(r.read_shortstr(), "");
  EXPECT_EQ(r.read_longstr(), bin);
  EXPECT_TRUE(r.at_end());
}

TEST(Writer, ShortStringOf255FitsAnd256DoesNot) {
  OutBuffer ob;
  Writer w(ob);
  w.write_shortstr(std::string(255, 'x'));
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(ob.size(), 256u);
  w.write_shortstr(std::string(256, 'y'));
  EXPECT_FALSE(w.ok());
  // Truncated but well formed: the stream still decodes.
  Bytes b = ob.to_bytes();
  Reader r(b);
  EXPECT_EQ(r.read_shortstr().size(), 255u);
  EXPECT_EQ(r.read_shortstr(), std::string(255, 'y'));
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, ShortShortStringIsTruncated) {
  Bytes b{5, 'a', 'b'};
  Reader r(b);
  EXPECT_EQ(r.read_shortstr(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.error(), "truncated");
}

TEST(Reader, ErrorsAreStickyAndReadsReturnZero) {
  Bytes b{0x01, 0x02, 0x03};
  Reader r(b);
  EXPECT_EQ(r.read_long(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.read_octet(), 0);  // bytes are still there, but the reader failed
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.rest().empty());
  r.fail("second reason");
  EXPECT_STREQ(r.error(), "truncated");  // the first reason is kept
}

TEST(Reader, HugeLongStringLengthFailsWithoutAllocating) {
  Bytes b{0xff, 0xff, 0xff, 0xff, 'a'};
  Reader r(b);
  EXPECT_EQ(r.read_longstr(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.error(), "length past end of frame");
}

TEST(Reader, EveryTruncationOfEveryPrimitiveFails) {
  Bytes full = write_with([](Writer& w) {
    w.write_short(1);
    w.write_long(2);
    w.write_longlong(3);
    w.write_shortstr("abc");
    w.write_longstr("defg");
  });
  for (size_t n = 0; n < full.size(); ++n) {
    Reader r(std::span<const uint8_t>(full.data(), n));
    r.read_short();
    r.read_long();
    r.read_longlong();
    r.read_shortstr();
    r.read_longstr();
    EXPECT_FALSE(r.ok()) << "prefix " << n;
  }
  Reader r(full);
  r.read_short();
  r.read_long();
  r.read_longlong();
  EXPECT_EQ(r.read_shortstr(), "abc");
  EXPECT_EQ(r.read_longstr(), "defg");
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Reader, RawViewsPointIntoTheBuffer) {
  Bytes b{1, 2, 3, 4};
  Reader r(b);
  auto v = r.read_raw(3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.data(), b.data());
  EXPECT_EQ(r.rest().size(), 1u);
  EXPECT_TRUE(r.read_raw(2).empty());
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace wharf::amqp
