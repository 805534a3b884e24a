#include "storage/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "records_util.h"

namespace wharf::storage {
namespace {

using testing::all_framings;
using testing::compressed_framings;
using testing::Framing;

std::vector<uint8_t> sample_records(int n) { return testing::encode_records(testing::records_every(n, 7)); }

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class Decompress : public ::testing::TestWithParam<Framing> {};

TEST_P(Decompress, RoundTripsWhatAClientCompressed) {
  for (int n : {1, 40, 20000}) {  // the largest spans many lz4 blocks, xerial chunks and buffer growths
    auto plain = sample_records(n);
    auto out = decompress(GetParam().codec, GetParam().compress(plain));
    ASSERT_TRUE(out.ok()) << n << ": " << out.error().message;
    EXPECT_EQ(*out, plain) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFramings, Decompress, ::testing::ValuesIn(all_framings()),
                         [](const auto& info) { return std::string(info.param.name); });

// Hostile input, for the framings that have a stream to break.
class DecompressHostile : public ::testing::TestWithParam<Framing> {};

TEST_P(DecompressHostile, TruncatedInputIsAnErrorNotAShortResult) {
  auto plain = sample_records(60);
  auto packed = GetParam().compress(plain);
  // Xerial streams have no end marker: a cut exactly between chunks
  // is a valid shorter stream. Every other cut must be caught.
  std::vector<bool> chunk_end(packed.size() + 1, false);
  if (std::string(GetParam().name) == "snappy_xerial") {
    for (size_t pos = 16; pos < packed.size();) {
      chunk_end[pos] = true;
      pos += 4 + load_be32(packed.data() + pos);
    }
  }
  for (size_t cut = 0; cut < packed.size(); cut++) {
    if (chunk_end[cut]) continue;
    auto out = decompress(GetParam().codec, std::span<const uint8_t>(packed).first(cut));
    EXPECT_FALSE(out.ok()) << "cut at " << cut << " of " << packed.size();
  }
}

TEST_P(DecompressHostile, FlippedBytesNeverCrash) {
  // Which flips are detected depends on the codec's checksums; what matters
  // is that none of them reads or writes out of bounds (run under ASan too).
  auto packed = GetParam().compress(sample_records(30));
  for (size_t i = 0; i < packed.size(); i++) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      auto bad = packed;
      bad[i] ^= mask;
      auto out = decompress(GetParam().codec, bad, 1 << 20);
      if (out.ok()) {
        EXPECT_LE(out->size(), size_t(1) << 20);
      }
    }
  }
}

TEST_P(DecompressHostile, GarbageIsAnError) {
  std::mt19937 rng(7);
  for (size_t len : {0, 1, 5, 16, 17, 100, 4096}) {
    std::vector<uint8_t> junk(len);
    for (auto& b : junk) b = uint8_t(rng());
    auto out = decompress(GetParam().codec, junk);
    EXPECT_FALSE(out.ok()) << len;
  }
}

TEST_P(DecompressHostile, OutputIsCappedSoABombCannotTakeMemory) {
  const size_t cap = 1 << 20;
  std::vector<uint8_t> zeros(cap + 1, 0);
  auto bomb = GetParam().compress(zeros);
  ASSERT_LT(bomb.size(), cap / 4);  // it really is a bomb
  EXPECT_EQ(decompress(GetParam().codec, bomb, cap).code(), Errc::kMessageTooLarge);
  // Exactly at the cap is still fine.
  auto fits = decompress(GetParam().codec, GetParam().compress(std::span<const uint8_t>(zeros).first(cap)), cap);
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->size(), cap);
}

INSTANTIATE_TEST_SUITE_P(CompressedFramings, DecompressHostile, ::testing::ValuesIn(compressed_framings()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DecompressFraming, ConcatenatedStreamsAreReadAsOne) {
  // Java's GZIPInputStream reads concatenated members, and zstd and LZ4
  // readers continue into a following frame; do the same.
  auto a = sample_records(3), b = sample_records(5);
  auto both = concat(a, b);
  auto gz = decompress(Codec::kGzip, concat(testing::gzip_compress(a), testing::gzip_compress(b)));
  ASSERT_TRUE(gz.ok()) << gz.error().message;
  EXPECT_EQ(*gz, both);
  auto lz = decompress(Codec::kLz4, concat(testing::lz4_frame(a), testing::lz4_frame(b)));
  ASSERT_TRUE(lz.ok()) << lz.error().message;
  EXPECT_EQ(*lz, both);
  auto zs = decompress(Codec::kZstd, concat(testing::zstd_stream(a), testing::zstd_sized(b)));
  ASSERT_TRUE(zs.ok()) << zs.error().message;
  EXPECT_EQ(*zs, both);
}

TEST(DecompressFraming, TrailingJunkAfterAStreamIsAnError) {
  auto plain = sample_records(5);
  std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_FALSE(decompress(Codec::kGzip, concat(testing::gzip_compress(plain), junk)).ok());
  EXPECT_FALSE(decompress(Codec::kLz4, concat(testing::lz4_frame(plain), junk)).ok());
  EXPECT_FALSE(decompress(Codec::kZstd, concat(testing::zstd_stream(plain), junk)).ok());
  EXPECT_FALSE(decompress(Codec::kSnappy, concat(testing::snappy_xerial(plain), junk)).ok());
}

TEST(DecompressFraming, SnappyLengthClaimIsCheckedBeforeAllocating) {
  // A raw block that claims 4 GiB - 1 of output in five bytes.
  std::vector<uint8_t> liar = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61};
  EXPECT_EQ(decompress(Codec::kSnappy, liar).code(), Errc::kMessageTooLarge);
  // Xerial chunks add up: each is small, together they pass the cap.
  std::vector<uint8_t> zeros(100000, 0);
  auto many = testing::snappy_xerial(zeros, 1000);
  EXPECT_EQ(decompress(Codec::kSnappy, many, 50000).code(), Errc::kMessageTooLarge);
  // A chunk length running past the end.
  auto cut = testing::snappy_xerial(zeros, 1000);
  store_be32(cut.data() + 16, 0x7fffffff);
  EXPECT_EQ(decompress(Codec::kSnappy, cut).code(), Errc::kCorrupt);
}

TEST(DecompressFraming, ZstdFrameAskingForAHugeWindowIsRefused) {
  // Frame magic, descriptor 0 (no content size), window descriptor asking for
  // 2^31 bytes, then a raw last block of one byte.
  std::vector<uint8_t> frame = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x09, 0x00, 0x00, 'x'};
  auto out = decompress(Codec::kZstd, frame);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), Errc::kCorrupt);
  EXPECT_NE(out.error().message.find("too much memory"), std::string::npos) << out.error().message;
  // 2^27 is what libzstd allows by default; we allow only what we would keep.
  frame[5] = 17 << 3;
  EXPECT_FALSE(decompress(Codec::kZstd, frame).ok());
  // The same frame with a 1 KiB window decodes: only the window was wrong.
  frame[5] = 0;
  auto small = decompress(Codec::kZstd, frame);
  ASSERT_TRUE(small.ok()) << small.error().message;
  EXPECT_EQ(*small, std::vector<uint8_t>{'x'});
}

TEST(DecompressFraming, UnknownCodecIsUnsupported) {
  std::vector<uint8_t> bytes = {1, 2, 3};
  EXPECT_EQ(decompress(Codec(5), bytes).code(), Errc::kUnsupported);
  EXPECT_EQ(decompress(Codec(7), bytes).code(), Errc::kUnsupported);
}

}  // namespace
}  // namespace wharf::storage
