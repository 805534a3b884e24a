// Recovery after torn writes, corruption and simulated crashes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "storage/format.h"
#include "storage/log.h"
#include "test_util.h"

namespace wharf::storage {
namespace {

using testing::make_batch;
using testing::seg_path;
using testing::slice_headers;
using testing::TempDir;

class RecoveryTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.sub("t-0"); }
  std::unique_ptr<Log> open(Env* env = Env::posix()) {
    auto r = Log::open(env, dir(), cfg_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  // Writes `n` batches of 4 records and closes cleanly.
  void write_log(int n) {
    auto log = open();
    for (int i = 0; i < n; i++) {
      auto b = make_batch(4, 1000 + i, 1000 + i);
      ASSERT_TRUE(log->append(b, 1000 + i).ok());
    }
    ASSERT_TRUE(log->close().ok());
  }
  std::string last_log() {
    auto names = Env::posix()->list_dir(dir());
    std::string best;
    for (auto& n : *names)
      if (n.ends_with(".log") && n > best) best = n;
    return dir() + "/" + best;
  }
  uint64_t file_size(const std::string& p) { return *(*Env::posix()->open_read(p))->size(); }
  void expect_batches(Log& log, int n) {
    EXPECT_EQ(log.end_offset(), Offset(n * 4));
    auto hs = slice_headers(*log.read(log.start_offset(), 1 << 20, false));
    ASSERT_EQ(int(hs.size()), n);
    for (int i = 0; i < n; i++) EXPECT_EQ(hs[i].base_offset, i * 4);
  }

  TempDir tmp_;
  LogConfig cfg_ = [] {
    LogConfig c;
    c.segment_bytes = 1000;
    c.index_interval_bytes = 200;
    c.retention_ms = -1;
    return c;
  }();
};

constexpr uint64_t kBatch = 61 + 4 * 20;

TEST_F(RecoveryTest, ReopenEmptyAndTwice) {
  { auto log = open(); ASSERT_TRUE(log->close().ok()); }
  { auto log = open(); EXPECT_EQ(log->end_offset(), Offset(0)); }
  write_log(20);
  auto log = open();
  expect_batches(*log, 20);
  EXPECT_EQ(log->durable_offset(), Offset(80));
}

TEST_F(RecoveryTest, GarbageAppendedToTail) {
  write_log(20);
  std::string p = last_log();
  uint64_t good = file_size(p);
  {
    auto f = Env::posix()->open_append(p);
    std::vector<uint8_t> junk(100, 0xAB);
    ASSERT_TRUE((*f)->append(junk).ok());
  }
  auto log = open();
  expect_batches(*log, 20);
  EXPECT_EQ(file_size(p), good);
  auto b = make_batch(4, 1, 1);
  auto r = log->append(b, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(80));
}

TEST_F(RecoveryTest, ZeroFilledTail) {
  write_log(20);
  std::string p = last_log();
  {
    auto f = Env::posix()->open_append(p);
    std::vector<uint8_t> zeros(4096, 0);
    ASSERT_TRUE((*f)->append(zeros).ok());
  }
  auto log = open();
  expect_batches(*log, 20);
}

TEST_F(RecoveryTest, TruncatedMidBatch) {
  write_log(20);
  std::string p = last_log();
  uint64_t sz = file_size(p);
  ASSERT_EQ(::truncate(p.c_str(), off_t(sz - 30)), 0);
  auto log = open();
  expect_batches(*log, 19);
  EXPECT_EQ(file_size(p), sz - kBatch);
  // Truncated inside a header too.
  ASSERT_TRUE(log->close().ok());
  log.reset();
  ASSERT_EQ(::truncate(p.c_str(), off_t(sz - kBatch - kBatch + 20)), 0);
  log = open();
  expect_batches(*log, 18);
}

TEST_F(RecoveryTest, FlippedBitInLastBatch) {
  write_log(20);
  std::string p = last_log();
  uint64_t sz = file_size(p);
  int fd = ::open(p.c_str(), O_RDWR);
  uint8_t byte;
  ASSERT_EQ(::pread(fd, &byte, 1, off_t(sz - 7)), 1);
  byte ^= 0x10;
  ASSERT_EQ(::pwrite(fd, &byte, 1, off_t(sz - 7)), 1);
  ::close(fd);
  auto log = open();
  expect_batches(*log, 19);
  EXPECT_EQ(file_size(p), sz - kBatch);
}

TEST_F(RecoveryTest, CorruptIndexEntriesAreDiscarded) {
  write_log(20);
  std::string p = last_log();
  std::string idx = p.substr(0, p.size() - 4) + ".index";
  {
    // An entry pointing past the end and one not on a batch boundary.
    auto f = Env::posix()->open_append(idx);
    uint8_t e[16];
    store_be32(e, 1000);
    store_be32(e + 4, 999999);
    store_be32(e + 8, 1001);
    store_be32(e + 12, 3);
    ASSERT_TRUE((*f)->append(e).ok());
  }
  auto log = open();
  expect_batches(*log, 20);
  for (int64_t off : {0, 7, 41, 79}) {
    auto hs = slice_headers(*log->read(Offset(off), 1, true));
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].base_offset, off / 4 * 4);
  }
}

TEST_F(RecoveryTest, StrayAndEmptyIndexFiles) {
  write_log(20);
  std::string p = last_log();
  std::string stray = seg_path(dir(), 99999, ".index");
  { auto f = Env::posix()->open_append(stray); }
  { auto f = Env::posix()->open_append(seg_path(dir(), 99999, ".timeindex")); }
  // Empty index for the last segment: recovery scans the whole segment.
  ASSERT_EQ(::truncate((p.substr(0, p.size() - 4) + ".index").c_str(), 0), 0);
  ASSERT_EQ(::truncate((p.substr(0, p.size() - 4) + ".timeindex").c_str(), 0), 0);
  auto log = open();
  EXPECT_FALSE(Env::posix()->exists(stray));
  expect_batches(*log, 20);
  EXPECT_EQ(log->offset_for_timestamp(1019), Offset(76));
}

TEST_F(RecoveryTest, LeftoverEmptyLastSegmentIsRemoved) {
  write_log(20);
  std::string empty = seg_path(dir(), 80, ".log");
  ASSERT_FALSE(Env::posix()->exists(empty));
  { auto f = Env::posix()->open_append(empty); }
  auto log = open();
  EXPECT_FALSE(Env::posix()->exists(empty));
  expect_batches(*log, 20);
  auto b = make_batch(4, 1, 1);
  ASSERT_TRUE(log->append(b, 1).ok());
  EXPECT_EQ(log->end_offset(), Offset(84));
}

TEST_F(RecoveryTest, CrashDropsUnsyncedBytes) {
  FaultInjectionEnv env(Env::posix());
  {
    auto log = open(&env);
    for (int i = 0; i < 10; i++) {
      auto b = make_batch(4, i, i);
      ASSERT_TRUE(log->append(b, i).ok());
    }
    FlushJob job = log->begin_flush();
    ASSERT_TRUE(Log::run_flush(job).ok());
    log->end_flush(job);
    EXPECT_EQ(log->durable_offset(), Offset(40));
    for (int i = 0; i < 10; i++) {  // never synced; crosses a roll
      auto b = make_batch(4, i, i);
      ASSERT_TRUE(log->append(b, i).ok());
    }
    // Power cut: the log object dies without close().
  }
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  auto log = open(&env);
  expect_batches(*log, 10);
  auto b = make_batch(4, 1, 1);
  auto r = log->append(b, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(40));
}

TEST_F(RecoveryTest, TornTailOfPreviousSegmentAfterRoll) {
  // A roll happened, the new segment got a batch, but the old segment's
  // last batch was torn (page cache lost out of order).
  write_log(7);  // fills the first segment (7 * 141 = 987 bytes)
  {
    auto log = open();
    auto b = make_batch(4, 1, 1);
    ASSERT_TRUE(log->append(b, 1).ok());
    ASSERT_TRUE(log->close().ok());
  }
  ASSERT_TRUE(Env::posix()->exists(seg_path(dir(), 28, ".log")));
  std::string first = seg_path(dir(), 0, ".log");
  ASSERT_EQ(::truncate(first.c_str(), off_t(file_size(first) - 10)), 0);
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(32));
  auto hs = slice_headers(*log->read(Offset(0), 1 << 20, false));
  ASSERT_EQ(hs.size(), 7u);  // 6 in the first segment, then a gap, then 28
  EXPECT_EQ(hs[5].base_offset, 20);
  EXPECT_EQ(hs[6].base_offset, 28);
  // Reading inside the gap returns the next batch.
  hs = slice_headers(*log->read(Offset(25), 1 << 20, false));
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].base_offset, 28);
}

}  // namespace
}  // namespace wharf::storage
