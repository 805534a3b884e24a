// The two pieces that keep ack state small and durable: the interval set and
// the ack file.
#include <gtest/gtest.h>

#include "../../storage/test_util.h"
#include "broker/queue/ack_store.h"
#include "broker/queue/interval_set.h"

namespace wharf::broker::queue {
namespace {

using storage::testing::TempDir;

std::vector<std::pair<int64_t, int64_t>> ranges(const IntervalSet& s) {
  std::vector<std::pair<int64_t, int64_t>> out;
  s.for_each([&](int64_t a, int64_t b) { out.emplace_back(a, b); });
  return out;
}

TEST(IntervalSet, MergesTouchingAndOverlappingRanges) {
  IntervalSet s;
  s.insert(5);
  s.insert(7);
  s.insert(6);  // bridges 5 and 7
  EXPECT_EQ(ranges(s), (std::vector<std::pair<int64_t, int64_t>>{{5, 8}}));
  s.insert(10, 20);
  s.insert(0, 3);
  s.insert(2, 12);  // swallows [5,8) and joins [10,20)
  EXPECT_EQ(ranges(s), (std::vector<std::pair<int64_t, int64_t>>{{0, 20}}));
  EXPECT_TRUE(s.contains(0));
  EXPECT_TRUE(s.contains(19));
  EXPECT_FALSE(s.contains(20));
  EXPECT_EQ(s.first_gap(0), 20);
  EXPECT_EQ(s.first_gap(25), 25);
}

TEST(IntervalSet, InOrderAcksOfAMillionOffsetsAreOneRange) {
  IntervalSet s;
  for (int64_t i = 0; i < 1'000'000; ++i) s.insert(i);
  EXPECT_EQ(s.range_count(), 1u);
}

TEST(IntervalSet, GapsAndTrimming) {
  IntervalSet s;
  s.insert(2, 4);
  s.insert(6, 8);
  std::vector<std::pair<int64_t, int64_t>> gaps;
  s.for_each_gap(0, 10, [&](int64_t a, int64_t b) { gaps.emplace_back(a, b); });
  EXPECT_EQ(gaps, (std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {4, 6}, {8, 10}}));
  gaps.clear();
  s.for_each_gap(3, 7, [&](int64_t a, int64_t b) { gaps.emplace_back(a, b); });
  EXPECT_EQ(gaps, (std::vector<std::pair<int64_t, int64_t>>{{4, 6}}));
  EXPECT_EQ(s.count_in(0, 10), 4);
  EXPECT_EQ(s.count_in(3, 7), 2);
  s.erase_below(3);
  s.erase_from(7);
  EXPECT_EQ(ranges(s), (std::vector<std::pair<int64_t, int64_t>>{{3, 4}, {6, 7}}));
}

TEST(AckStore, ReplaysWhatWasWrittenAndCutsATornTail) {
  TempDir d;
  auto* env = storage::Env::posix();
  {
    AckState st;
    auto s = AckStore::open(env, d.path(), &st);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(st.empty());
    for (int64_t i = 0; i < 10; ++i) (*s)->settle(0, i, i + 1);  // coalesces to one record
    (*s)->settle(3, 100, 105);
    (*s)->cursor(0, 12);
    ASSERT_TRUE((*s)->write_pending().ok());
    EXPECT_EQ((*s)->file_bytes(), 2 * (9 + 17) + (9 + 9u));
  }
  // A torn record at the end (a crash mid-write).
  {
    auto f = env->open_append(d.sub("acks.log"));
    ASSERT_TRUE(f.ok());
    uint8_t half[5] = {1, 2, 3, 4, 5};
    ASSERT_TRUE((*f)->append(half).ok());
  }
  AckState st;
  auto s = AckStore::open(env, d.path(), &st);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(st[0].cursor, 12);
  EXPECT_EQ(st[0].settled.first_gap(0), 10);
  EXPECT_TRUE(st[3].settled.contains(104));
  EXPECT_EQ((*s)->file_bytes(), 2 * (9 + 17) + (9 + 9u));  // the torn bytes are gone
}

TEST(AckStore, CompactionKeepsOnlyLiveState) {
  TempDir d;
  auto* env = storage::Env::posix();
  AckState live;
  {
    AckState st;
    auto s = AckStore::open(env, d.path(), &st);
    ASSERT_TRUE(s.ok());
    for (int64_t i = 0; i < 1000; i += 2) (*s)->settle(0, i, i + 1);
    ASSERT_TRUE((*s)->write_pending().ok());
    live[0].cursor = 2000;
    live[0].settled.insert(0, 1500);
    ASSERT_TRUE((*s)->compact(live).ok());
    EXPECT_EQ((*s)->file_bytes(), (9 + 9u) + (9 + 17u));
    (*s)->settle(0, 1500, 1600);  // appends after compaction still land in the file
    ASSERT_TRUE((*s)->write_pending().ok());
  }
  AckState st;
  ASSERT_TRUE(AckStore::open(env, d.path(), &st).ok());
  EXPECT_EQ(st[0].cursor, 2000);
  EXPECT_EQ(st[0].settled.first_gap(0), 1600);
  EXPECT_EQ(st[0].settled.range_count(), 1u);
}

}  // namespace
}  // namespace wharf::broker::queue
