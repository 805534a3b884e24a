#include "broker/producer_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace wharf::broker {

using V = ProducerStateTable::Verdict;

TEST(ProducerState, NewProducerMustStartAtZero) {
  ProducerStateTable t;
  EXPECT_EQ(t.check(7, 0, 0, 4).verdict, V::kAccept);
  EXPECT_EQ(t.check(7, 0, 5, 9).verdict, V::kOutOfOrder);
}

TEST(ProducerState, InOrderDuplicateAndGap) {
  ProducerStateTable t;
  t.record(7, 0, 0, 4, 100, 104);
  EXPECT_EQ(t.check(7, 0, 5, 9).verdict, V::kAccept);
  auto dup = t.check(7, 0, 0, 4);
  EXPECT_EQ(dup.verdict, V::kDuplicate);
  EXPECT_EQ(dup.duplicate_offset, 100);
  EXPECT_EQ(t.check(7, 0, 6, 9).verdict, V::kOutOfOrder);  // gap
}

TEST(ProducerState, RemembersOnlyLastFiveBatches) {
  ProducerStateTable t;
  for (int i = 0; i < 7; ++i) t.record(1, 0, i * 10, i * 10 + 9, i * 10, i * 10 + 9);
  EXPECT_EQ(t.check(1, 0, 60, 69).verdict, V::kDuplicate);
  EXPECT_EQ(t.check(1, 0, 20, 29).verdict, V::kDuplicate);
  EXPECT_NE(t.check(1, 0, 10, 19).verdict, V::kDuplicate);  // fell out of the window
}

TEST(ProducerState, EpochFencingAndBump) {
  ProducerStateTable t;
  t.record(1, 3, 0, 0, 0, 0);
  EXPECT_EQ(t.check(1, 2, 1, 1).verdict, V::kInvalidEpoch);
  EXPECT_EQ(t.check(1, 4, 0, 0).verdict, V::kAccept);      // new epoch restarts at 0
  EXPECT_EQ(t.check(1, 4, 3, 3).verdict, V::kOutOfOrder);
}

TEST(ProducerState, SequenceWrapsAtInt32Max) {
  ProducerStateTable t;
  t.record(1, 0, 0, 0, 0, 0);
  t.record(1, 0, 1, INT32_MAX, 1, 2);
  EXPECT_EQ(t.check(1, 0, 0, 9).verdict, V::kAccept);
}

TEST(ProducerState, SnapshotRoundTripAndDamage) {
  char tmpl[] = "/tmp/wharf_ps_XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string path = dir + "/producers.snapshot";
  ProducerStateTable t;
  t.record(5, 1, 0, 9, 40, 49);
  t.record(6, 0, 0, 0, 50, 50);
  ASSERT_TRUE(t.save(path, 51).ok());
  ProducerStateTable u;
  EXPECT_EQ(u.load(path), 51);
  EXPECT_EQ(u.size(), 2u);
  EXPECT_EQ(u.check(5, 1, 0, 9).verdict, V::kDuplicate);
  EXPECT_EQ(u.check(5, 1, 10, 12).verdict, V::kAccept);
  // A flipped byte makes the snapshot ignored, never half-loaded.
  FILE* f = fopen(path.c_str(), "r+b");
  fseek(f, 10, SEEK_SET);
  fputc(0x55, f);
  fclose(f);
  ProducerStateTable w;
  EXPECT_EQ(w.load(path), 0);
  EXPECT_EQ(w.size(), 0u);
  unlink(path.c_str());
  rmdir(dir.c_str());
}

}  // namespace wharf::broker
