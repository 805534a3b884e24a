#include "storage/record_batch.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wharf::storage
