#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/group/offset_log.h"
#include "group_test_util.h"

namespace wharf::broker::group {
namespace {

using testing::TempDir;

uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

TEST(OffsetLog, PutFindReplay) {
  TempDir dir;
  {
    auto log = OffsetLog::open(dir.path, 3);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put("g", "t", 0, {10, 1, "a", 0}).ok());
    ASSERT_TRUE((*log)->put("g", "t", 0, {11, 1, "b", 0}).ok());
    ASSERT_TRUE((*log)->put("h", "t", 5, {99, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->sync().ok());
    EXPECT_EQ((*log)->file_bytes(), file_size(dir.path + "/3.log"));
  }
  auto log = OffsetLog::open(dir.path, 3);
  ASSERT_TRUE(log.ok());
  auto* g = (*log)->find("g");
  ASSERT_NE(g, nullptr);
  auto& v = g->at({"t", 0});
  EXPECT_EQ(v.offset, 11);
  EXPECT_EQ(v.leader_epoch, 1);
  EXPECT_EQ(v.metadata, "b");
  EXPECT_GT(v.commit_time_ms, 0);
  EXPECT_EQ((*log)->find("h")->at({"t", 5}).offset, 99);
  EXPECT_EQ((*log)->find("x"), nullptr);
}

TEST(OffsetLog, TornTailIsTruncated) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  uint64_t good = 0;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put("g", "t", 1, {2, -1, "", 0}).ok());
    good = (*log)->file_bytes();
    ASSERT_TRUE((*log)->put("g", "t", 2, {3, -1, "", 0}).ok());
  }
  // Cut the last record in half, as a crash in mid-write would.
  uint64_t full = file_size(path);
  ASSERT_EQ(::truncate(path.c_str(), off_t(good + (full - good) / 2)), 0);
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->find("g")->size(), 2u);
    EXPECT_EQ(file_size(path), good);
    // Appends after the truncation are readable.
    ASSERT_TRUE((*log)->put("g", "t", 3, {4, -1, "", 0}).ok());
  }
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->find("g")->size(), 3u);
  EXPECT_EQ((*log)->find("g")->at({"t", 3}).offset, 4);
}

TEST(OffsetLog, CorruptRecordStopsReplay) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  uint64_t first = 0;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    first = (*log)->file_bytes();
    ASSERT_TRUE((*log)->put("g", "t", 1, {2, -1, "xyz", 0}).ok());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(file_size(path) - 1));
    f.put('Q');  // flip a metadata byte: CRC mismatch
  }
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->find("g")->size(), 1u);
  EXPECT_EQ(file_size(path), first);
}

TEST(OffsetLog, TombstoneDeletesGroup) {
  TempDir dir;
  {
    auto log = OffsetLog::open(dir.path, 1);
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put("k", "t", 0, {5, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->delete_group("g").ok());
    EXPECT_EQ((*log)->find("g"), nullptr);
  }
  auto log = OffsetLog::open(dir.path, 1);
  EXPECT_EQ((*log)->find("g"), nullptr);
  EXPECT_EQ((*log)->find("k")->at({"t", 0}).offset, 5);
}

TEST(OffsetLog, CompactionKeepsLatestValues) {
  TempDir dir;
  OffsetLogOptions opts{/*compact_min_bytes=*/1024, /*compact_ratio=*/4};
  std::string path = dir.path + "/2.log";
  {
    auto log = OffsetLog::open(dir.path, 2, opts);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put("gone", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->delete_group("gone").ok());
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE((*log)->put("g", "t", i % 3, {i, i / 100, "meta", 0}).ok());
      EXPECT_LE((*log)->file_bytes(), 4 * (*log)->live_bytes() + 1024 + 100);
    }
    EXPECT_LT(file_size(path), 2048u);  // 1000 records of ~60 bytes were written
    EXPECT_EQ((*log)->file_bytes(), file_size(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    ASSERT_TRUE((*log)->compact().ok());
    EXPECT_EQ((*log)->file_bytes(), (*log)->live_bytes());
    ASSERT_TRUE((*log)->put("g", "u", 0, {7, -1, "", 0}).ok());  // appends after a compaction
  }
  auto log = OffsetLog::open(dir.path, 2, opts);
  ASSERT_TRUE(log.ok());
  auto* g = (*log)->find("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->size(), 4u);
  EXPECT_EQ(g->at({"t", 0}).offset, 999);
  EXPECT_EQ(g->at({"t", 1}).offset, 997);
  EXPECT_EQ(g->at({"t", 2}).offset, 998);
  EXPECT_EQ(g->at({"t", 0}).leader_epoch, 9);
  EXPECT_EQ(g->at({"u", 0}).offset, 7);
  EXPECT_EQ((*log)->find("gone"), nullptr);
}

TEST(OffsetFlusher, SyncsDirtySlots) {
  TempDir dir;
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  OffsetFlusher flusher(std::chrono::milliseconds(5));
  flusher.add((*log)->sync_slot());
  ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
  EXPECT_TRUE((*log)->sync_slot()->dirty);
  for (int i = 0; i < 200 && (*log)->sync_slot()->dirty; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_FALSE((*log)->sync_slot()->dirty);
}

}  // namespace
}  // namespace wharf::broker::group
