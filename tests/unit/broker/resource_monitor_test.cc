// Resource alarms: watermarks, hysteresis, listeners, the sampling thread
// and the per-shard fan-out, with a probe the test controls.
#include "broker/resource_monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "broker/shards.h"

namespace wharf::broker {
namespace {

// The probe reads whatever the test last stored.
struct FakeProbe {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::shared_ptr<ResourceSample> sample = std::make_shared<ResourceSample>(ResourceSample{0, 1'000'000'000});

  void set(std::optional<uint64_t> memory, std::optional<uint64_t> disk_free) {
    std::lock_guard lk(*mu);
    *sample = ResourceSample{memory, disk_free};
  }
  ResourceMonitor::Probe probe() const {
    return [mu = mu, sample = sample] {
      std::lock_guard lk(*mu);
      return *sample;
    };
  }
};

ResourceConfig limits(uint64_t memory, uint64_t disk) {
  ResourceConfig c;
  c.memory_high_watermark_bytes = memory;
  c.disk_free_limit_bytes = disk;
  c.check_interval_ms = 1;
  return c;
}

TEST(ResourceAlarms, ReasonsAreWordedAsRabbitMqs) {
  EXPECT_EQ((ResourceAlarms{true, false}.reason()), "low on memory");
  EXPECT_EQ((ResourceAlarms{false, true}.reason()), "low on disk");
  EXPECT_EQ((ResourceAlarms{true, true}.reason()), "low on memory & disk");
  EXPECT_EQ(ResourceAlarms{}.reason(), "");
  EXPECT_FALSE(ResourceAlarms{}.any());
}

TEST(ResourceMonitor, MemoryAlarmRisesAtTheWatermarkAndClearsBelowTheBand) {
  FakeProbe p;
  ResourceMonitor m(limits(1000, 0), p.probe(), 1 << 30);
  std::vector<ResourceAlarms> seen;
  m.subscribe([&](const ResourceAlarms& a) { seen.push_back(a); });
  ASSERT_EQ(seen.size(), 1u);  // the current state, at once
  EXPECT_FALSE(seen[0].any());

  p.set(999, std::nullopt);
  EXPECT_FALSE(m.check().memory);
  p.set(1000, std::nullopt);
  EXPECT_TRUE(m.check().memory);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].reason(), "low on memory");

  // Inside the 5% band the alarm holds, and nobody is told anything.
  p.set(951, std::nullopt);
  EXPECT_TRUE(m.check().memory);
  p.set(950, std::nullopt);
  EXPECT_TRUE(m.check().memory);
  EXPECT_EQ(seen.size(), 2u);

  p.set(949, std::nullopt);
  EXPECT_FALSE(m.check().memory);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[2].any());
  EXPECT_FALSE(m.alarms().any());
}

TEST(ResourceMonitor, DiskAlarmRisesBelowTheLimitAndClearsAboveTheBand) {
  FakeProbe p;
  ResourceMonitor m(limits(0, 1000), p.probe(), 1 << 30);
  int changes = 0;
  m.subscribe([&](const ResourceAlarms&) { ++changes; });
  p.set(std::nullopt, 1000);
  EXPECT_FALSE(m.check().disk);
  p.set(std::nullopt, 999);
  EXPECT_TRUE(m.check().disk);
  p.set(std::nullopt, 1049);
  EXPECT_TRUE(m.check().disk);
  p.set(std::nullopt, 1050);
  EXPECT_FALSE(m.check().disk);
  EXPECT_EQ(changes, 1 + 2);
}

TEST(ResourceMonitor, BothAlarmsTogetherAndApart) {
  FakeProbe p;
  ResourceMonitor m(limits(100, 100), p.probe(), 1 << 30);
  p.set(100, 50);
  EXPECT_EQ(m.check().reason(), "low on memory & disk");
  p.set(10, 50);
  EXPECT_EQ(m.check().reason(), "low on disk");
  p.set(10, 500);
  EXPECT_FALSE(m.check().any());
}

TEST(ResourceMonitor, ZeroWatermarkMeansFortyPercentOfAvailableMemory) {
  FakeProbe p;
  ResourceMonitor m(limits(0, 0), p.probe(), 10'000);
  EXPECT_EQ(m.memory_high_watermark(), 4'000u);
  p.set(3'999, 0);  // a full disk does not count with the disk limit off
  EXPECT_FALSE(m.check().any());
  p.set(4'000, 0);
  EXPECT_TRUE(m.check().memory);
  EXPECT_FALSE(m.alarms().disk);
}

TEST(ResourceMonitor, AMissingMeasurementKeepsThatAlarmAsItWas) {
  FakeProbe p;
  ResourceMonitor m(limits(100, 100), p.probe(), 1 << 30);
  p.set(200, 50);
  EXPECT_EQ(m.check(), (ResourceAlarms{true, true}));
  p.set(std::nullopt, std::nullopt);
  EXPECT_EQ(m.check(), (ResourceAlarms{true, true}));
  p.set(1, std::nullopt);
  EXPECT_EQ(m.check(), (ResourceAlarms{false, true}));
}

TEST(ResourceMonitor, UnsubscribedListenersHearNothingMore) {
  FakeProbe p;
  ResourceMonitor m(limits(100, 0), p.probe(), 1 << 30);
  int a = 0, b = 0;
  const uint64_t ida = m.subscribe([&](const ResourceAlarms&) { ++a; });
  m.subscribe([&](const ResourceAlarms&) { ++b; });
  m.unsubscribe(ida);
  p.set(100, std::nullopt);
  m.check();
  EXPECT_EQ(a, 1);  // only the initial call
  EXPECT_EQ(b, 2);
}

TEST(ResourceMonitor, StartSamplesAtOnceAndThenOnItsThread) {
  FakeProbe p;
  p.set(500, std::nullopt);
  ResourceMonitor m(limits(100, 0), p.probe(), 1 << 30);
  m.start();
  // The first sample is taken before start() returns.
  EXPECT_TRUE(m.alarms().memory);

  std::mutex mu;
  std::condition_variable cv;
  bool cleared = false;
  m.subscribe([&](const ResourceAlarms& a) {
    std::lock_guard lk(mu);
    if (!a.memory) cleared = true;
    cv.notify_all();
  });
  p.set(1, std::nullopt);
  std::unique_lock lk(mu);
  // Bounded only so a broken monitor fails instead of hanging.
  EXPECT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return cleared; }));
  lk.unlock();
  m.stop();
  m.stop();  // idempotent
}

TEST(ResourceMonitor, SystemProbeMeasuresThisProcessAndTheDirectory) {
  const ResourceSample s = ResourceMonitor::system_probe(".")();
  ASSERT_TRUE(s.memory_bytes.has_value());
  EXPECT_GT(*s.memory_bytes, 0u);
  EXPECT_TRUE(s.disk_free_bytes.has_value());
  EXPECT_EQ(ResourceMonitor::system_probe("/no/such/dir")().disk_free_bytes, std::nullopt);
  EXPECT_GT(ResourceMonitor::memory_available(), *s.memory_bytes);
}

TEST(SubscribeOnShards, EveryShardHearsEachChangeOnItsOwnThreadInOrder) {
  Shards shards(3);
  shards.start();
  FakeProbe p;
  ResourceMonitor m(limits(100, 0), p.probe(), 1 << 30);

  std::mutex mu;
  std::vector<std::vector<bool>> per_shard(3);  // memory alarm states as seen by each shard
  bool wrong_thread = false;
  const uint64_t id = subscribe_on_shards(m, shards, [&](ShardId s, const ResourceAlarms& a) {
    std::lock_guard lk(mu);
    if (!Shards::on(s)) wrong_thread = true;
    per_shard[s.value].push_back(a.memory);
  });
  p.set(100, std::nullopt);
  m.check();
  p.set(1, std::nullopt);
  m.check();
  m.unsubscribe(id);
  // A post queued after the news runs after it (FIFO per shard).
  std::vector<std::promise<void>> done(3);
  for (unsigned i = 0; i < 3; ++i) shards.post(ShardId(i), [&done, i] { done[i].set_value(); });
  for (auto& d : done) d.get_future().wait();
  shards.stop();

  EXPECT_FALSE(wrong_thread);
  for (auto& seen : per_shard) EXPECT_EQ(seen, (std::vector<bool>{false, true, false}));
}

}  // namespace
}  // namespace wharf::broker
