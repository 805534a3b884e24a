#include "storage/log.h"

#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"

namespace wharf::storage {
namespace {

using testing::make_batch;
using testing::slice_headers;
using testing::TempDir;

class LogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> open(LogConfig cfg, Env* env = Env::posix()) {
    auto r = Log::open(env, dir_.sub("t-0"), cfg);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  // Appends `n` batches of `records` records each, timestamps ts, ts+1, ...
  void fill(Log& log, int n, int records, int64_t ts = 1000, size_t body = 20) {
    for (int i = 0; i < n; i++) {
      auto b = make_batch(records, ts + i, ts + i, body);
      auto r = log.append(b, ts + i);
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }
  TempDir dir_;
};

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes = 1000;
  c.index_interval_bytes = 200;
  c.retention_ms = -1;
  return c;
}

TEST_F(LogTest, EmptyLog) {
  auto log = open({});
  EXPECT_EQ(log->start_offset(), Offset(0));
  EXPECT_EQ(log->end_offset(), Offset(0));
  auto r = log->read(Offset(0), 1 << 20, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->slices.empty());
  EXPECT_EQ(log->read(Offset(1), 100, true).code(), Errc::kOffsetOutOfRange);
  EXPECT_FALSE(log->offset_for_timestamp(0).has_value());
}

TEST_F(LogTest, AppendAssignsOffsetsAndReadsBack) {
  auto log = open({});
  auto b1 = make_batch(3, 10, 12);
  auto r1 = log->append(b1, 100);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->base_offset, Offset(0));
  EXPECT_EQ(r1->last_offset, Offset(2));
  EXPECT_EQ(r1->max_timestamp, 12);
  auto b2 = make_batch(5, 13, 17);
  auto r2 = log->append(b2, 101);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->base_offset, Offset(3));
  EXPECT_EQ(log->end_offset(), Offset(8));
  EXPECT_EQ(log->size_bytes(), b1.size() + b2.size());

  auto rd = log->read(Offset(0), 1 << 20, false);
  ASSERT_TRUE(rd.ok());
  auto hs = slice_headers(*rd);
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].base_offset, 0);
  EXPECT_EQ(hs[1].base_offset, 3);
  EXPECT_EQ(rd->bytes, b1.size() + b2.size());
}

TEST_F(LogTest, RoundTripAcrossSegmentRolls) {
  auto log = open(small_config());
  fill(*log, 60, 4);  // each batch 61 + 80 bytes: ~7 per 1000-byte segment
  EXPECT_EQ(log->end_offset(), Offset(240));
  auto rd = log->read(Offset(0), 1 << 20, false);
  ASSERT_TRUE(rd.ok());
  EXPECT_GT(rd->slices.size(), 5u);  // one slice per segment
  auto hs = slice_headers(*rd);
  ASSERT_EQ(hs.size(), 60u);
  for (int i = 0; i < 60; i++) {
    EXPECT_EQ(hs[i].base_offset, i * 4);
    EXPECT_EQ(hs[i].max_timestamp, 1000 + i);
  }
  // Reopen preserves everything.
  ASSERT_TRUE(log->close().ok());
  log = open(small_config());
  EXPECT_EQ(log->end_offset(), Offset(240));
  EXPECT_EQ(log->start_offset(), Offset(0));
  hs = slice_headers(*log->read(Offset(0), 1 << 20, false));
  ASSERT_EQ(hs.size(), 60u);
  auto extra = make_batch(1, 5000, 5000);
  auto r = log->append(extra, 5000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(240));
}

TEST_F(LogTest, ReadFromMiddleOfBatchReturnsContainingBatch) {
  auto log = open(small_config());
  fill(*log, 60, 4);
  for (int64_t off : {0, 1, 3, 4, 57, 118, 119, 120, 203, 239}) {
    auto rd = log->read(Offset(off), 1, true);
    ASSERT_TRUE(rd.ok());
    auto hs = slice_headers(*rd);
    ASSERT_EQ(hs.size(), 1u) << off;
    EXPECT_EQ(hs[0].base_offset, off / 4 * 4) << off;
  }
}

TEST_F(LogTest, MaxBytesAndMinOne) {
  auto log = open(small_config());
  fill(*log, 10, 4);
  size_t bsz = 61 + 80;
  // Room for exactly two batches.
  auto rd = log->read(Offset(0), 2 * bsz + 10, false);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(slice_headers(*rd).size(), 2u);
  EXPECT_EQ(rd->bytes, 2 * bsz);
  // Too small for one batch: nothing without min_one, one batch with it.
  rd = log->read(Offset(8), 10, false);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(rd->bytes, 0u);
  EXPECT_TRUE(rd->slices.empty());
  rd = log->read(Offset(8), 10, true);
  ASSERT_TRUE(rd.ok());
  auto hs = slice_headers(*rd);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].base_offset, 8);
}

TEST_F(LogTest, OffsetOutOfRange) {
  auto log = open(small_config());
  fill(*log, 3, 4);
  EXPECT_EQ(log->read(Offset(13), 100, true).code(), Errc::kOffsetOutOfRange);
  EXPECT_EQ(log->read(Offset(-1), 100, true).code(), Errc::kOffsetOutOfRange);
  auto at_end = log->read(Offset(12), 100, true);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->slices.empty());
}

TEST_F(LogTest, OffsetForTimestamp) {
  auto log = open(small_config());
  fill(*log, 60, 4, 1000);  // batch i has max ts 1000 + i
  EXPECT_EQ(log->offset_for_timestamp(0), Offset(0));
  EXPECT_EQ(log->offset_for_timestamp(1000), Offset(0));
  EXPECT_EQ(log->offset_for_timestamp(1001), Offset(4));
  EXPECT_EQ(log->offset_for_timestamp(1033), Offset(132));
  EXPECT_EQ(log->offset_for_timestamp(1059), Offset(236));
  EXPECT_FALSE(log->offset_for_timestamp(1060).has_value());
  // Same answers from indexes loaded from disk.
  ASSERT_TRUE(log->close().ok());
  log = open(small_config());
  EXPECT_EQ(log->offset_for_timestamp(1033), Offset(132));
  EXPECT_EQ(log->offset_for_timestamp(1017), Offset(68));
}

TEST_F(LogTest, RollsByAge) {
  LogConfig c;
  c.segment_ms = 1000;
  c.retention_ms = -1;
  auto log = open(c);
  auto b = make_batch(1, 0, 0);
  ASSERT_TRUE(log->append(b, 10'000).ok());
  ASSERT_TRUE(log->append(b, 10'500).ok());
  EXPECT_EQ(testing::slice_headers(*log->read(Offset(0), 1 << 20, true)).size(), 2u);
  ASSERT_TRUE(log->append(b, 11'000).ok());  // first append + segment_ms: roll
  ASSERT_TRUE(log->close().ok());
  auto names = Env::posix()->list_dir(dir_.sub("t-0"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::count_if(names->begin(), names->end(), [](auto& n) { return n.ends_with(".log"); }), 2);
  EXPECT_TRUE(Env::posix()->exists(testing::seg_path(dir_.sub("t-0"), 2, ".log")));
}

TEST_F(LogTest, FlushMarksDurableOffset) {
  FaultInjectionEnv env(Env::posix());
  auto log = open(small_config(), &env);
  fill(*log, 3, 4);
  EXPECT_EQ(log->durable_offset(), Offset(0));
  FlushJob job = log->begin_flush();
  EXPECT_FALSE(job.empty());
  EXPECT_EQ(job.upto, Offset(12));
  // The owner keeps appending while another thread syncs.
  status st;
  std::thread t([&] { st = Log::run_flush(job); });
  fill(*log, 2, 4);
  t.join();
  ASSERT_TRUE(st.ok());
  log->end_flush(job);
  EXPECT_EQ(log->durable_offset(), Offset(12));
  job = log->begin_flush();
  ASSERT_TRUE(Log::run_flush(job).ok());
  log->end_flush(job);
  EXPECT_EQ(log->durable_offset(), Offset(20));
  // Nothing new: an empty job.
  job = log->begin_flush();
  EXPECT_TRUE(job.empty());
}

TEST_F(LogTest, FlushAfterRollSyncsRolledSegment) {
  FaultInjectionEnv env(Env::posix());
  auto log = open(small_config(), &env);
  fill(*log, 20, 4);  // several rolls
  FlushJob job = log->begin_flush();
  ASSERT_TRUE(Log::run_flush(job).ok());
  log->end_flush(job);
  EXPECT_EQ(log->durable_offset(), Offset(80));
  log.reset();
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  log = open(small_config(), &env);
  EXPECT_EQ(log->end_offset(), Offset(80));
  EXPECT_EQ(slice_headers(*log->read(Offset(0), 1 << 20, false)).size(), 20u);
}

TEST_F(LogTest, FailedSyncIsReported) {
  FaultInjectionEnv env(Env::posix());
  auto log = open(small_config(), &env);
  fill(*log, 2, 4);
  FlushJob job = log->begin_flush();
  env.set_fail_syncs(true);
  EXPECT_EQ(Log::run_flush(job).code(), Errc::kIo);
  env.set_fail_syncs(false);
  EXPECT_EQ(log->durable_offset(), Offset(0));
  // The next round retries the same bytes.
  job = log->begin_flush();
  EXPECT_FALSE(job.empty());
  ASSERT_TRUE(Log::run_flush(job).ok());
  log->end_flush(job);
  EXPECT_EQ(log->durable_offset(), Offset(8));
}

TEST_F(LogTest, FailedWriteLeavesLogConsistent) {
  FaultInjectionEnv env(Env::posix());
  auto log = open(small_config(), &env);
  fill(*log, 2, 4);
  env.set_fail_writes(true);
  auto b = make_batch(4, 1, 1);
  EXPECT_EQ(log->append(b, 1).code(), Errc::kIo);
  env.set_fail_writes(false);
  EXPECT_EQ(log->end_offset(), Offset(8));
  auto r = log->append(b, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(8));
}

TEST_F(LogTest, RetentionByBytes) {
  LogConfig c = small_config();
  auto log = open(c);
  fill(*log, 60, 4);
  uint64_t before = log->size_bytes();
  ASSERT_TRUE(log->close().ok());
  c.retention_bytes = 3000;
  log = open(c);
  auto n = log->apply_retention(2000);
  ASSERT_TRUE(n.ok());
  EXPECT_GT(*n, 0u);
  EXPECT_LT(log->size_bytes(), before);
  EXPECT_GE(log->size_bytes(), 3000u);
  EXPECT_LT(log->size_bytes(), 3000u + 1000u);
  Offset start = log->start_offset();
  EXPECT_GT(start, Offset(0));
  EXPECT_EQ(start.value % 4, 0);
  EXPECT_EQ(log->read(Offset(0), 100, true).code(), Errc::kOffsetOutOfRange);
  auto hs = slice_headers(*log->read(start, 1 << 20, false));
  ASSERT_FALSE(hs.empty());
  EXPECT_EQ(hs.front().base_offset, start.value);
  EXPECT_EQ(hs.back().last_offset(), 239);
  // Reopen keeps the new start.
  ASSERT_TRUE(log->close().ok());
  log = open(c);
  EXPECT_EQ(log->start_offset(), start);
}

TEST_F(LogTest, RetentionByTimeKeepsActiveSegment) {
  LogConfig c = small_config();
  c.retention_ms = 100;
  auto log = open(c);
  fill(*log, 30, 4, 1000);   // old
  fill(*log, 30, 4, 5000);   // new
  // At 5050 the batches with ts <= 4949 are expired: exactly the first 30.
  auto n = log->apply_retention(5050);
  ASSERT_TRUE(n.ok());
  EXPECT_GT(*n, 0u);
  Offset start = log->start_offset();
  EXPECT_LE(start, Offset(120));
  EXPECT_GT(start, Offset(100));  // segments are ~7 batches, so some old ones may remain
  auto hs = slice_headers(*log->read(start, 1 << 20, false));
  EXPECT_EQ(hs.back().last_offset(), 239);
  // Everything expired: only the active segment stays.
  n = log->apply_retention(1'000'000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(log->end_offset(), Offset(240));
  EXPECT_GT(log->start_offset(), Offset(200));
}

TEST_F(LogTest, DeleteSegmentsBeforeKeepsEveryOffsetAtOrAboveIt) {
  LogConfig c = small_config();
  auto log = open(c);
  fill(*log, 60, 4);  // offsets 0..239 over several segments
  // Nothing before offset 0.
  EXPECT_EQ(*log->delete_segments_before(Offset(0)), 0u);
  auto n = log->delete_segments_before(Offset(101));
  ASSERT_TRUE(n.ok());
  EXPECT_GT(*n, 0u);
  Offset start = log->start_offset();
  EXPECT_LE(start, Offset(101));  // offset 101 itself must still be readable
  auto hs = slice_headers(*log->read(Offset(101), 1 << 20, false));
  ASSERT_FALSE(hs.empty());
  EXPECT_LE(hs.front().base_offset, 101);
  // Past the end: everything but the active segment goes.
  ASSERT_TRUE(log->delete_segments_before(Offset(1000)).ok());
  EXPECT_EQ(log->end_offset(), Offset(240));
  EXPECT_GT(log->start_offset(), Offset(200));
  ASSERT_TRUE(log->close().ok());
  auto again = open(c);
  EXPECT_GT(again->start_offset(), Offset(200));
}

TEST_F(LogTest, SliceOutlivesRetention) {
  LogConfig c = small_config();
  c.retention_bytes = 0;
  auto log = open(c);
  fill(*log, 20, 4);
  auto rd = log->read(Offset(0), 1 << 20, false);
  ASSERT_TRUE(rd.ok());
  ASSERT_TRUE(log->apply_retention(0).ok());
  EXPECT_GT(log->start_offset(), Offset(0));
  EXPECT_EQ(slice_headers(*rd).size(), 20u);
}

TEST_F(LogTest, ScanHeaders) {
  auto log = open(small_config());
  for (int i = 0; i < 30; i++) {
    auto b = make_batch(3, i, i, 20, /*producer_id=*/7, /*base_seq=*/i * 3);
    ASSERT_TRUE(log->append(b, i).ok());
  }
  std::vector<BatchHeader> seen;
  ASSERT_TRUE(log->scan_headers(Offset(40), [&](const BatchHeader& h) { seen.push_back(h); }).ok());
  ASSERT_EQ(seen.size(), 17u);  // batch 13 (offsets 39..41) is the first
  EXPECT_EQ(seen.front().base_offset, 39);
  EXPECT_EQ(seen.front().base_sequence, 39);
  EXPECT_EQ(seen.back().last_offset(), 89);
  EXPECT_EQ(seen.back().producer_id, 7);
  seen.clear();
  ASSERT_TRUE(log->scan_headers(Offset(0), [&](const BatchHeader& h) { seen.push_back(h); }).ok());
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(LogTest, RemoveDeletesDirectory) {
  auto log = open(small_config());
  fill(*log, 3, 1);
  ASSERT_TRUE(log->close().ok());
  log.reset();
  ASSERT_TRUE(Log::remove(Env::posix(), dir_.sub("t-0")).ok());
  EXPECT_FALSE(Env::posix()->exists(dir_.sub("t-0")));
}

}  // namespace
}  // namespace wharf::storage
