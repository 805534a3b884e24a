#include "broker/partition.h"

#include <gtest/gtest.h>

#include "../storage/records_util.h"
#include "../storage/test_util.h"

namespace wharf::broker {

using storage::testing::make_batch;
using storage::testing::TempDir;

namespace {
std::shared_ptr<Partition> open_partition(const std::string& dir) {
  auto p = Partition::open(storage::Env::posix(), dir, "t", 0, storage::LogConfig{}, 1 << 20);
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : nullptr;
}
}  // namespace

TEST(Partition, AppendsAndAssignsOffsets) {
  TempDir d;
  auto p = open_partition(d.sub("t-0"));
  auto b1 = make_batch(3, 1000, 1002);
  auto b2 = make_batch(2, 1003, 1004);
  auto r1 = p->append(b1, 0);
  auto r2 = p->append(b2, 0);
  EXPECT_EQ(r1.err, Errc::kOk);
  EXPECT_EQ(r1.base_offset, 0);
  EXPECT_EQ(r2.base_offset, 3);
  EXPECT_EQ(p->log().end_offset().value, 5);
}

TEST(Partition, RejectsCorruptAndOversizedBatches) {
  TempDir d;
  auto p = Partition::open(storage::Env::posix(), d.sub("t-0"), "t", 0, storage::LogConfig{}, 200);
  ASSERT_TRUE(p.ok());
  auto bad = make_batch(1, 1, 1);
  bad.back() ^= 1;  // CRC no longer matches
  EXPECT_EQ((*p)->append(bad, 0).err, Errc::kCorrupt);
  auto big = make_batch(20, 1, 1, 50);
  EXPECT_EQ((*p)->append(big, 0).err, Errc::kMessageTooLarge);
  EXPECT_EQ((*p)->log().end_offset().value, 0);
}

TEST(Partition, IdempotentDuplicatesAreDroppedAcrossRestart) {
  TempDir d;
  {
    auto p = open_partition(d.sub("t-0"));
    auto b = make_batch(5, 1, 1, 20, /*pid=*/42, /*seq=*/0);
    EXPECT_EQ(p->append(b, 0).base_offset, 0);
    auto again = make_batch(5, 1, 1, 20, 42, 0);
    auto dup = p->append(again, 0);
    EXPECT_EQ(dup.err, Errc::kOk);
    EXPECT_EQ(dup.base_offset, 0);   // acknowledged with the original offset
    EXPECT_EQ(dup.last_offset, -1);  // nothing new written
    auto gap = make_batch(1, 1, 1, 20, 42, 9);
    EXPECT_EQ(p->append(gap, 0).err, Errc::kOutOfOrderSequence);
    // No clean close: producer state must come back from the log itself.
    auto job = p->log().begin_flush();
    ASSERT_TRUE(storage::Log::run_flush(job).ok());
  }
  auto p = open_partition(d.sub("t-0"));
  auto again = make_batch(5, 1, 1, 20, 42, 0);
  auto dup = p->append(again, 0);
  EXPECT_EQ(dup.base_offset, 0);
  EXPECT_EQ(p->log().end_offset().value, 5);
  auto next = make_batch(2, 1, 1, 20, 42, 5);
  EXPECT_EQ(p->append(next, 0).base_offset, 5);
}

TEST(Partition, DataWaitersFireOnceOnAppendAndExpiredOnesAreSkipped) {
  TempDir d;
  auto p = open_partition(d.sub("t-0"));
  auto alive = std::make_shared<int>(0);
  int fired = 0, dead_fired = 0;
  p->add_data_waiter(alive, [&] { ++fired; });
  {
    auto gone = std::make_shared<int>(0);
    p->add_data_waiter(gone, [&] { ++dead_fired; });
  }
  auto b = make_batch(1, 1, 1);
  p->append(b, 0);
  auto b2 = make_batch(1, 1, 1);
  p->append(b2, 0);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(dead_fired, 0);
}

TEST(Partition, DurableWaitersFireAfterFlush) {
  TempDir d;
  auto p = open_partition(d.sub("t-0"));
  auto b = make_batch(3, 1, 1);
  auto r = p->append(b, 0);
  bool done = false;
  p->wait_durable(r.last_offset, [&](status st) { done = st.ok(); });
  EXPECT_FALSE(done);
  auto job = p->log().begin_flush();
  ASSERT_TRUE(storage::Log::run_flush(job).ok());
  p->log().end_flush(job);
  p->on_flushed(status{});
  EXPECT_TRUE(done);
}

}  // namespace wharf::broker

namespace wharf::broker {

// Builds an uncompressed batch whose records carry real varint headers with
// the given timestamp deltas (storage tests use opaque bodies instead).
static std::vector<uint8_t> batch_with_timestamps(int64_t base_ts, const std::vector<int64_t>& deltas) {
  using namespace storage::batch_layout;
  auto zz = [](std::vector<uint8_t>& o, int64_t v) {
    uint64_t u = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
    while (u >= 0x80) { o.push_back(uint8_t(u | 0x80)); u >>= 7; }
    o.push_back(uint8_t(u));
  };
  std::vector<uint8_t> recs;
  for (size_t i = 0; i < deltas.size(); ++i) {
    std::vector<uint8_t> body;
    body.push_back(0);              // attributes
    zz(body, deltas[i]);            // timestamp delta
    zz(body, int64_t(i));           // offset delta
    zz(body, -1);                   // null key
    zz(body, 1);                    // value length
    body.push_back('v');
    zz(body, 0);                    // no headers
    zz(recs, int64_t(body.size()));
    recs.insert(recs.end(), body.begin(), body.end());
  }
  int64_t max_ts = base_ts;
  for (auto d : deltas) max_ts = std::max(max_ts, base_ts + d);
  auto b = storage::testing::make_batch(int32_t(deltas.size()), base_ts, max_ts, 0);
  b.resize(kHeaderSize);
  b.insert(b.end(), recs.begin(), recs.end());
  store_be32(b.data() + kBatchLength, uint32_t(b.size() - kLogOverhead));
  storage::update_batch_crc(b);
  return b;
}

TEST(Partition, OffsetForTimeFindsTheRecordInsideABatch) {
  TempDir d;
  auto p = Partition::open(storage::Env::posix(), d.sub("t-0"), "t", 0, storage::LogConfig{}, 1 << 20);
  ASSERT_TRUE(p.ok());
  auto b1 = batch_with_timestamps(1000, {0, 10, 20});    // offsets 0..2 at 1000, 1010, 1020
  auto b2 = batch_with_timestamps(2000, {0, 5});         // offsets 3..4 at 2000, 2005
  ASSERT_EQ((*p)->append(b1, 0).err, Errc::kOk);
  ASSERT_EQ((*p)->append(b2, 0).err, Errc::kOk);
  EXPECT_EQ((*p)->offset_for_time(0), std::make_pair(int64_t(0), int64_t(1000)));
  EXPECT_EQ((*p)->offset_for_time(1005), std::make_pair(int64_t(1), int64_t(1010)));
  EXPECT_EQ((*p)->offset_for_time(1020), std::make_pair(int64_t(2), int64_t(1020)));
  EXPECT_EQ((*p)->offset_for_time(1500), std::make_pair(int64_t(3), int64_t(2000)));
  EXPECT_EQ((*p)->offset_for_time(2003), std::make_pair(int64_t(4), int64_t(2005)));
  EXPECT_EQ((*p)->offset_for_time(3000), std::make_pair(int64_t(-1), int64_t(-1)));
}


TEST(Partition, OffsetForTimeFindsTheRecordInsideACompressedBatch) {
  // Stored as sent, compressed; the answer is still the exact record.
  for (const auto& f : storage::testing::all_framings()) {
    SCOPED_TRACE(f.name);
    TempDir d;
    auto p = open_partition(d.sub("t-0"));
    auto b1 = storage::testing::compressed_batch(f, storage::testing::records_every(4, 10), 1000);  // offsets 0..3
    auto b2 = storage::testing::compressed_batch(f, storage::testing::records_every(3, 5), 2000);   // offsets 4..6
    ASSERT_EQ(p->append(b1, 0).err, Errc::kOk);
    ASSERT_EQ(p->append(b2, 0).err, Errc::kOk);
    EXPECT_EQ(p->offset_for_time(0), std::make_pair(int64_t(0), int64_t(1000)));
    EXPECT_EQ(p->offset_for_time(1015), std::make_pair(int64_t(2), int64_t(1020)));
    EXPECT_EQ(p->offset_for_time(1030), std::make_pair(int64_t(3), int64_t(1030)));
    EXPECT_EQ(p->offset_for_time(2006), std::make_pair(int64_t(6), int64_t(2010)));
    EXPECT_EQ(p->offset_for_time(2011), std::make_pair(int64_t(-1), int64_t(-1)));
  }
}

TEST(Partition, OffsetForTimeFallsBackToTheBatchStartWhenItCannotLookInside) {
  // Garbage "gzip" bytes pass the CRC check on produce; a lookup inside them
  // fails, and the answer is the batch's first offset, as before.
  TempDir d;
  auto p = open_partition(d.sub("t-0"));
  auto good = make_batch(2, 500, 501);
  auto junk = make_batch(5, 1000, 1004, 20, -1, -1, /*attrs=gzip*/ 1);
  ASSERT_EQ(p->append(good, 0).err, Errc::kOk);
  ASSERT_EQ(p->append(junk, 0).err, Errc::kOk);
  EXPECT_EQ(p->offset_for_time(1002), std::make_pair(int64_t(2), int64_t(1004)));
}

}  // namespace wharf::broker
