#include "storage/record_batch.h"

#include <gtest/gtest.h>

#include "records_util.h"
#include "test_util.h"

namespace wharf::storage {
namespace {

using testing::make_batch;

TEST(RecordBatch, ParseHeaderFields) {
  auto b = make_batch(5, 1000, 1004, 10, /*producer_id=*/42, /*base_seq=*/7, kAttrTransactional | 2);
  set_base_offset(b, 123);
  auto h = parse_batch_header(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->base_offset, 123);
  EXPECT_EQ(h->total_size(), b.size());
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->last_offset_delta, 4);
  EXPECT_EQ(h->last_offset(), 127);
  EXPECT_EQ(h->record_count(), 5);
  EXPECT_EQ(h->base_timestamp, 1000);
  EXPECT_EQ(h->max_timestamp, 1004);
  EXPECT_EQ(h->producer_id, 42);
  EXPECT_EQ(h->base_sequence, 7);
  EXPECT_EQ(h->last_sequence(), 11);
  EXPECT_TRUE(h->is_transactional());
  EXPECT_FALSE(h->is_control());
  EXPECT_EQ(h->compression(), 2);
  EXPECT_EQ(h->timestamp_type(), 0);
}

TEST(RecordBatch, ParseHeaderTooShort) {
  std::vector<uint8_t> b(60, 0);
  EXPECT_EQ(parse_batch_header(b).code(), Errc::kCorrupt);
}

TEST(RecordBatch, ValidateAcceptsGoodBatch) {
  auto b = make_batch(3, 1, 3);
  EXPECT_TRUE(validate_batch(b).ok());
  // baseOffset is outside the CRC.
  set_base_offset(b, 999);
  EXPECT_TRUE(validate_batch(b).ok());
}

TEST(RecordBatch, ValidateRejectsBadCrc) {
  auto b = make_batch(3, 1, 3);
  b.back() ^= 0x01;
  auto s = validate_batch(b);
  EXPECT_EQ(s.code(), Errc::kCorrupt);
  EXPECT_NE(s.error().message.find("crc"), std::string::npos);
}

TEST(RecordBatch, ValidateRejectsBadMagic) {
  auto b = make_batch(3, 1, 3);
  b[batch_layout::kMagic] = 1;
  EXPECT_EQ(validate_batch(b).code(), Errc::kCorrupt);
}

TEST(RecordBatch, ValidateRejectsBadLength) {
  auto b = make_batch(3, 1, 3);
  auto longer = b;
  longer.push_back(0);
  EXPECT_EQ(validate_batch(longer).code(), Errc::kCorrupt);
  auto shorter = b;
  shorter.pop_back();
  EXPECT_EQ(validate_batch(shorter).code(), Errc::kCorrupt);
  store_be32(b.data() + batch_layout::kBatchLength, 10);
  EXPECT_EQ(validate_batch(b).code(), Errc::kCorrupt);
}

TEST(RecordBatch, ValidateRejectsBadCounts) {
  auto b = make_batch(3, 1, 3);
  store_be32(b.data() + batch_layout::kRecordsCount, 4);  // more records than offsets
  update_batch_crc(b);
  EXPECT_EQ(validate_batch(b).code(), Errc::kCorrupt);
  store_be32(b.data() + batch_layout::kLastOffsetDelta, uint32_t(-1));
  store_be32(b.data() + batch_layout::kRecordsCount, 0);
  update_batch_crc(b);
  EXPECT_EQ(validate_batch(b).code(), Errc::kCorrupt);
}

TEST(RecordBatch, SplitBatches) {
  auto a = make_batch(2, 1, 2), b = make_batch(7, 3, 9, 33), c = make_batch(1, 10, 10, 0);
  std::vector<uint8_t> blob;
  for (auto* x : {&a, &b, &c}) blob.insert(blob.end(), x->begin(), x->end());
  auto parts = split_batches(blob);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].size(), a.size());
  EXPECT_EQ((*parts)[1].size(), b.size());
  EXPECT_EQ((*parts)[2].size(), c.size());
  EXPECT_EQ((*parts)[1].data(), blob.data() + a.size());
  for (auto p : *parts) EXPECT_TRUE(validate_batch(p).ok());

  std::vector<uint8_t> empty;
  auto none = split_batches(empty);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RecordBatch, SplitRejectsPartialAndBadLength) {
  auto a = make_batch(2, 1, 2), b = make_batch(3, 1, 3);
  std::vector<uint8_t> blob(a.begin(), a.end());
  blob.insert(blob.end(), b.begin(), b.end() - 5);  // trailing partial batch
  EXPECT_EQ(split_batches(blob).code(), Errc::kCorrupt);

  std::vector<uint8_t> tiny(a.begin(), a.end());
  tiny.insert(tiny.end(), {0, 0, 0});  // fewer bytes than a length prefix
  EXPECT_EQ(split_batches(tiny).code(), Errc::kCorrupt);

  auto bad = a;
  store_be32(bad.data() + batch_layout::kBatchLength, 3);
  EXPECT_EQ(split_batches(bad).code(), Errc::kCorrupt);
}


// ---- first_record_at_or_after: the record ListOffsets by time answers with ----

using testing::all_framings;
using testing::compressed_batch;
using testing::Framing;
using testing::records_every;

class FirstRecord : public ::testing::TestWithParam<Framing> {};

// Five records at 1'000'000, +10, +20, +30, +40 ms, offsets 100..104.
TEST_P(FirstRecord, FindsTheExactRecordWhateverTheCompression) {
  auto b = compressed_batch(GetParam(), records_every(5, 10), 1'000'000, /*base_offset=*/100);
  ASSERT_TRUE(validate_batch(b).ok());
  auto at = [&](int64_t ts) {
    auto r = first_record_at_or_after(b, ts);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  };
  // Before the batch: its first record.
  ASSERT_TRUE(at(5).has_value());
  EXPECT_EQ(at(5)->offset, 100);
  EXPECT_EQ(at(5)->timestamp, 1'000'000);
  // Exactly on a record inside the batch.
  ASSERT_TRUE(at(1'000'020).has_value());
  EXPECT_EQ(at(1'000'020)->offset, 102);
  EXPECT_EQ(at(1'000'020)->timestamp, 1'000'020);
  // Between two records: the later one.
  ASSERT_TRUE(at(1'000'021).has_value());
  EXPECT_EQ(at(1'000'021)->offset, 103);
  EXPECT_EQ(at(1'000'021)->timestamp, 1'000'030);
  // The last record.
  ASSERT_TRUE(at(1'000'040).has_value());
  EXPECT_EQ(at(1'000'040)->offset, 104);
  // After the batch: nothing here.
  EXPECT_FALSE(at(1'000'041).has_value());
}

TEST_P(FirstRecord, FindsARecordDeepInALargeBatch) {
  // 3000 records of 200 bytes: 600 KB of records, many blocks or chunks.
  auto b = compressed_batch(GetParam(), records_every(3000, 1, 200), 5000);
  auto r = first_record_at_or_after(b, 5000 + 2500);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->offset, 2500);
  EXPECT_EQ((*r)->timestamp, 7500);
}

INSTANTIATE_TEST_SUITE_P(AllFramings, FirstRecord, ::testing::ValuesIn(all_framings()),
                         [](const auto& info) { return std::string(info.param.name); });

class FirstRecordCompressed : public ::testing::TestWithParam<Framing> {};

TEST_P(FirstRecordCompressed, RecordsExpandingPastTheLimitAreAnError) {
  auto b = compressed_batch(GetParam(), records_every(10, 1, 1000), 0);
  EXPECT_EQ(first_record_at_or_after(b, 5, /*max_decompressed=*/5000).code(), Errc::kMessageTooLarge);
  EXPECT_TRUE(first_record_at_or_after(b, 5, /*max_decompressed=*/20000).ok());
}

INSTANTIATE_TEST_SUITE_P(CompressedFramings, FirstRecordCompressed,
                         ::testing::ValuesIn(testing::compressed_framings()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FirstRecordDetails, OffsetsComeFromTheRecordDeltas) {
  // Compaction leaves gaps: record positions are not offset deltas.
  std::vector<testing::TestRecord> recs = {{0, 0, "a"}, {5, 3, "b"}, {9, 7, "c"}};
  auto plain = testing::encode_records(recs);
  auto b = testing::batch_with_section(recs, 100, Codec::kGzip, testing::gzip_compress(plain), 50);
  auto r = first_record_at_or_after(b, 106);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->offset, 57);
  EXPECT_EQ((*r)->timestamp, 109);
}

TEST(FirstRecordDetails, GarbageCompressedRecordsAreAnErrorNotACrash) {
  for (int16_t codec = 1; codec <= 4; codec++) {
    // make_batch fills the records section with bytes that are no codec's stream.
    auto b = make_batch(5, 1000, 1004, 20, -1, -1, codec);
    ASSERT_TRUE(validate_batch(b).ok());  // a producer can send this: the CRC is fine
    auto r = first_record_at_or_after(b, 1002);
    EXPECT_FALSE(r.ok()) << "codec " << codec;
  }
  auto b = make_batch(5, 1000, 1004, 20, -1, -1, 5);
  EXPECT_EQ(first_record_at_or_after(b, 1002).code(), Errc::kUnsupported);
}

TEST(FirstRecordDetails, TruncatedCompressedRecordsAreAnError) {
  auto recs = records_every(50, 10);
  auto packed = testing::zstd_stream(testing::encode_records(recs));
  packed.resize(packed.size() - 10);
  auto b = testing::batch_with_section(recs, 0, Codec::kZstd, packed);
  EXPECT_EQ(first_record_at_or_after(b, 400).code(), Errc::kCorrupt);
}

TEST(FirstRecordDetails, FewerRecordsThanTheHeaderCountsAreAnError) {
  // Compressed fine, but the header promises more records than the stream holds.
  auto recs = records_every(3, 10);
  auto b = testing::batch_with_section(recs, 0, Codec::kLz4, testing::lz4_frame(testing::encode_records(recs)));
  store_be32(b.data() + batch_layout::kRecordsCount, 4);
  EXPECT_EQ(first_record_at_or_after(b, 25).code(), Errc::kCorrupt);
  // A record found before the missing one is still a right answer.
  auto r = first_record_at_or_after(b, 15);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->offset, 2);
}

TEST(FirstRecordDetails, ADecompressionBombPastTheDefaultCapIsRefused) {
  // One record whose 65 MiB value compresses to a few KB: above the 64 MiB
  // cap, so the lookup gives up instead of holding it all in memory.
  std::vector<testing::TestRecord> recs = {{0, 0, std::string(65 << 20, 'a')}, {10, 1, "b"}};
  auto b = testing::batch_with_section(recs, 0, Codec::kZstd, testing::zstd_stream(testing::encode_records(recs)));
  ASSERT_LT(b.size(), size_t(1) << 20);
  EXPECT_EQ(first_record_at_or_after(b, 5).code(), Errc::kMessageTooLarge);
}

TEST(FirstRecordDetails, EmptyBatchHasNoRecord) {
  auto b = testing::batch_with_section({}, 0, Codec::kGzip, {});
  auto r = first_record_at_or_after(b, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

}  // namespace
}  // namespace wharf::storage
