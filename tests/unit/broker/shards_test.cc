// Shards: posts between two shards run in the order they were made, also
// when they are batched per turn and mixed with call().
#include "broker/shards.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <vector>

namespace wharf::broker {
namespace {

TEST(Shards, PostsFromOneShardToAnotherKeepTheirOrder) {
  Shards shards(2);
  shards.start();
  std::vector<int> seen;  // touched only on shard 1
  std::promise<std::vector<int>> done;
  constexpr int kN = 10000;
  shards.post(ShardId(0), [&] {
    for (int i = 0; i < kN; ++i) {
      if (i % 1000 == 999) {
        // call() goes through the same outbox: it must not overtake posts.
        shards.call(ShardId(1), [&seen, i] { seen.push_back(i); return 0; }, [](int) {});
      } else {
        shards.post(ShardId(1), [&seen, i] { seen.push_back(i); });
      }
    }
    shards.post(ShardId(1), [&] { done.set_value(seen); });
  });
  auto got = done.get_future().get();
  shards.stop();
  ASSERT_EQ(got.size(), size_t(kN));
  for (int i = 0; i < kN; ++i) ASSERT_EQ(got[i], i);
}

TEST(Shards, PostsFromOutsideAndToSelfRun) {
  Shards shards(2);
  shards.start();
  std::promise<int> done;
  shards.post(ShardId(1), [&] {
    EXPECT_TRUE(Shards::on(ShardId(1)));
    shards.post(ShardId(1), [&] { shards.post(ShardId(0), [&] { done.set_value(Shards::current().value); }); });
  });
  EXPECT_EQ(done.get_future().get(), 0u);
  shards.stop();
}

TEST(Shards, MoveOnlyWorkCrossesShards) {
  Shards shards(2);
  shards.start();
  std::promise<int> done;
  shards.post(ShardId(0), [&] {
    auto p = std::make_unique<int>(42);
    shards.post(ShardId(1), [&, p = std::move(p)] { done.set_value(*p); });
  });
  EXPECT_EQ(done.get_future().get(), 42);
  shards.stop();
}

}  // namespace
}  // namespace wharf::broker
