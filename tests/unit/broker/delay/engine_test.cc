// The scheduled-delivery engine: ordering, durability across restarts and
// crashes, repeats and cron, slot files on disk, bounded memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "../../storage/test_util.h"
#include "broker/delay/engine.h"
#include "broker/delay/slot_format.h"

namespace wharf::broker::delay {
namespace {

Schedule sched(int64_t delay, int64_t period = 0, int32_t repeat = 0, std::string cron = "") {
  Schedule s;
  s.delay_ms = delay;
  s.period_ms = period;
  s.repeat = repeat;
  s.cron = std::move(cron);
  return s;
}

using storage::testing::TempDir;

queue::Message msg(std::string body, bool persistent = true) {
  queue::Message m;
  m.exchange = "x";
  m.routing_key = "rk";
  m.props.delivery_mode = persistent ? queue::kDeliveryModePersistent : queue::kDeliveryModeTransient;
  m.headers.add("h", queue::Value("v"));
  m.body = queue::Body::copy_of(std::string_view(body));
  return m;
}

struct Fired {
  DelayTarget target;
  queue::Message message;
  int64_t at;
};

struct Harness {
  TempDir tmp;
  std::string dir = tmp.sub("delayed");
  int64_t clock = 1'700'000'000'000;
  std::vector<Fired> fired;
  std::vector<int64_t> wakes;
  bool auto_done = true;
  std::vector<FireDone> pending;  // when !auto_done
  EngineConfig cfg;
  storage::Env* env = nullptr;

  std::shared_ptr<Engine> open() {
    EngineHooks h;
    h.env = env;
    h.now_ms = [this] { return clock; };
    h.wake_at = [this](int64_t t) { wakes.push_back(t); };
    h.fire = [this](const DelayTarget& t, const queue::Message& m, FireDone done) {
      fired.push_back({t, m, clock});
      if (auto_done) done(status{});
      else pending.push_back(std::move(done));
    };
    auto e = Engine::open(dir, cfg, std::move(h));
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    return e.ok() ? *e : nullptr;
  }
  // Moves the clock and ticks, as the broker's timer would.
  void advance(Engine& e, int64_t ms) {
    clock += ms;
    e.tick();
  }
  std::vector<std::string> bodies() const {
    std::vector<std::string> out;
    for (const auto& f : fired) out.emplace_back(f.message.body.view());
    return out;
  }
  size_t slot_files() const {
    auto names = storage::Env::posix()->list_dir(dir);
    if (!names.ok()) return 0;
    return size_t(std::count_if(names->begin(), names->end(), [](const std::string& n) {
      int64_t i;
      return slot_format::parse_name(n, &i);
    }));
  }
};

DelayTarget target(std::string rk = "rk") { return DelayTarget{"/", "x", std::move(rk), ""}; }

TEST(DelayEngine, FiresInDueOrderAndNotBefore) {
  Harness h;
  auto e = h.open();
  ASSERT_TRUE(e->schedule(target(), msg("c300"), sched(300, 0, 0, "")).ok());
  ASSERT_TRUE(e->schedule(target(), msg("a100"), sched(100, 0, 0, "")).ok());
  ASSERT_TRUE(e->schedule(target(), msg("b200"), sched(200, 0, 0, "")).ok());
  ASSERT_TRUE(e->schedule(target(), msg("a100-second"), sched(100, 0, 0, "")).ok());
  ASSERT_TRUE(e->schedule(target("now"), msg("zero"), sched(0)).ok());
  h.advance(*e, 0);
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"zero"}));
  h.advance(*e, 99);
  EXPECT_EQ(h.fired.size(), 1u);
  h.advance(*e, 1);
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"zero", "a100", "a100-second"}));
  h.advance(*e, 250);
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"zero", "a100", "a100-second", "b200", "c300"}));
  // What fired is the message as scheduled, with its target.
  EXPECT_EQ(h.fired[0].target, target("now"));
  EXPECT_EQ(h.fired[1].message.routing_key, "rk");
  EXPECT_EQ(h.fired[1].message.headers, msg("x").headers);
  EXPECT_TRUE(h.fired[1].message.props.persistent());
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, AsksToBeWokenAtTheEarliestDueTime) {
  Harness h;
  auto e = h.open();
  ASSERT_TRUE(e->schedule(target(), msg("a"), sched(500, 0, 0, "")).ok());
  ASSERT_FALSE(h.wakes.empty());
  EXPECT_EQ(h.wakes.back(), h.clock + 500);
  ASSERT_TRUE(e->schedule(target(), msg("b"), sched(200, 0, 0, "")).ok());
  EXPECT_EQ(h.wakes.back(), h.clock + 200);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, PersistentScheduleConfirmsOnlyAfterTheFlushRound) {
  Harness h;
  auto e = h.open();
  int persistent_done = 0, transient_done = 0;
  ASSERT_TRUE(e->schedule(target(), msg("p"), sched(10, 0, 0, ""), [&](status st) {
                 persistent_done += st.ok();
               }).ok());
  ASSERT_TRUE(e->schedule(target(), msg("t", false), sched(10, 0, 0, ""), [&](status st) {
                 transient_done += st.ok();
               }).ok());
  EXPECT_EQ(persistent_done, 0);
  EXPECT_EQ(transient_done, 1);
  ASSERT_TRUE(flush_now(*e).ok());
  EXPECT_EQ(persistent_done, 1);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, RejectsInvalidSchedules) {
  Harness h;
  auto e = h.open();
  EXPECT_EQ(e->schedule(target(), msg("a"), sched(-5, 0, 0, "")).code(), Errc::kInvalidArgument);
  EXPECT_EQ(e->schedule(target(), msg("a"), sched(0, 0, 0, "* *")).code(), Errc::kInvalidArgument);
  EXPECT_EQ(e->schedule(target(), msg("a"), sched(0, 0, 0, "0 0 30 2 *")).code(), Errc::kInvalidArgument);
  EXPECT_EQ(e->scheduled_total(), 0u);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, PendingEntriesSurviveARestartAndLateOnesFireAtOnce) {
  Harness h;
  {
    auto e = h.open();
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(e->schedule(target(), msg("m" + std::to_string(i)), sched(1000 * (5 - i), 0, 0, "")).ok());
    h.advance(*e, 1000);
    EXPECT_EQ(h.bodies(), (std::vector<std::string>{"m4"}));
    ASSERT_TRUE(e->close().ok());
  }
  h.fired.clear();
  h.clock += 60'000;  // down for a minute: everything is overdue
  auto e = h.open();
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"m3", "m2", "m1", "m0"}));
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, KillDashNineKeepsWhatWasWrittenAndFiredMarks) {
  // No close(): the engine just goes away as in kill -9. Without a defer
  // hook every call writes to the page cache before returning.
  Harness h;
  {
    auto e = h.open();
    ASSERT_TRUE(e->schedule(target(), msg("early"), sched(100, 0, 0, "")).ok());
    ASSERT_TRUE(e->schedule(target(), msg("late"), sched(100'000, 0, 0, "")).ok());
    h.advance(*e, 100);
    EXPECT_EQ(h.bodies(), (std::vector<std::string>{"early"}));
  }
  h.fired.clear();
  auto e = h.open();
  h.advance(*e, 200'000);
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"late"}));  // "early" is not delivered twice
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, PowerCutKeepsConfirmedEntriesAndSyncedFiredMarks) {
  Harness h;
  storage::FaultInjectionEnv env(storage::Env::posix());
  h.env = &env;
  int confirmed = 0;
  {
    auto e = h.open();
    ASSERT_TRUE(e->schedule(target(), msg("a"), sched(100), [&](status st) { confirmed += st.ok(); }).ok());
    ASSERT_TRUE(e->schedule(target(), msg("b"), sched(200), [&](status st) { confirmed += st.ok(); }).ok());
    ASSERT_TRUE(flush_now(*e).ok());
    ASSERT_EQ(confirmed, 2);
    h.advance(*e, 100);  // "a" fires; its fired mark is synced by the next round
    ASSERT_TRUE(flush_now(*e).ok());
    ASSERT_TRUE(e->schedule(target(), msg("c"), sched(300), [&](status st) { confirmed += st.ok(); }).ok());
    EXPECT_EQ(confirmed, 2);  // "c" is not confirmed: no round covered it
  }
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  h.fired.clear();
  auto e = h.open();
  h.advance(*e, 1000);
  // "a" was delivered and marked before the cut; "b" was confirmed; "c" was
  // never confirmed and its bytes were never synced.
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"b"}));
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, AFireWhoseStoreIsNotConfirmedIsRepeatedAfterACrash) {
  // at-least-once: done never ran (the copies were not stored yet), so the
  // entry is still pending after the restart.
  Harness h;
  h.auto_done = false;
  {
    auto e = h.open();
    ASSERT_TRUE(e->schedule(target(), msg("m"), sched(10, 0, 0, "")).ok());
    h.advance(*e, 10);
    EXPECT_EQ(h.fired.size(), 1u);
    EXPECT_EQ(e->in_flight(), 1u);
  }
  h.pending.clear();
  h.fired.clear();
  h.auto_done = true;
  auto e = h.open();
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"m"}));
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, AFailedFireIsRetried) {
  Harness h;
  h.auto_done = false;
  auto e = h.open();
  ASSERT_TRUE(e->schedule(target(), msg("m"), sched(10, 0, 0, "")).ok());
  h.advance(*e, 10);
  ASSERT_EQ(h.pending.size(), 1u);
  auto done = std::move(h.pending[0]);
  h.pending.clear();
  done(make_error(Errc::kIo, "disk full"));
  h.advance(*e, h.cfg.retry_ms - 1);
  EXPECT_EQ(h.fired.size(), 1u);
  h.advance(*e, 1);
  EXPECT_EQ(h.fired.size(), 2u);
  h.pending[0](status{});
  EXPECT_EQ(e->fired_total(), 1u);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, RepeatAndPeriodDeliverRepeatPlusOneTimesAcrossARestart) {
  Harness h;
  int64_t t0 = h.clock;
  {
    auto e = h.open();
    ASSERT_TRUE(e->schedule(target(), msg("r"), sched(1000, 500, 3, "")).ok());
    h.advance(*e, 1000);
    h.advance(*e, 500);
    EXPECT_EQ(h.fired.size(), 2u);
    ASSERT_TRUE(e->close().ok());
  }
  auto e = h.open();
  for (int i = 0; i < 10; ++i) h.advance(*e, 500);
  ASSERT_EQ(h.fired.size(), 4u);
  EXPECT_EQ(h.fired[0].at - t0, 1000);
  EXPECT_EQ(h.fired[1].at - t0, 1500);
  EXPECT_EQ(h.fired[2].at - t0, 2000);
  EXPECT_EQ(h.fired[3].at - t0, 2500);
  for (const auto& f : h.fired) EXPECT_EQ(f.message.body.view(), "r");
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, CronFiresAtEveryMatchingMinute) {
  Harness h;
  h.clock = days_from_civil(2026, 11, 22) * 86'400'000 + 30'000;  // 00:00:30
  auto e = h.open();
  ASSERT_TRUE(e->schedule(target(), msg("c"), sched(0, 0, 0, "*/2 * * * *")).ok());
  for (int i = 0; i < 12; ++i) h.advance(*e, 30'000);  // to 00:06:30
  ASSERT_EQ(h.fired.size(), 3u);
  int64_t day = days_from_civil(2026, 11, 22) * 86'400'000;
  EXPECT_EQ(h.fired[0].at, day + 2 * 60'000);
  EXPECT_EQ(h.fired[1].at, day + 4 * 60'000);
  EXPECT_EQ(h.fired[2].at, day + 6 * 60'000);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, FinishedSlotFilesAreDeletedAfterAFlushRound) {
  Harness h;
  auto e = h.open();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(e->schedule(target(), msg("m"), sched(i * h.cfg.slot_ms, 0, 0, "")).ok());
  EXPECT_EQ(h.slot_files(), 3u);
  h.advance(*e, 3 * h.cfg.slot_ms);
  EXPECT_EQ(h.fired.size(), 3u);
  EXPECT_EQ(h.slot_files(), 3u);  // not before their kFired records are durable
  ASSERT_TRUE(flush_now(*e).ok());
  EXPECT_EQ(h.slot_files(), 0u);
  EXPECT_EQ(e->slot_count(), 0u);
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, ATornTailIsCutAndTheRestStillFires) {
  Harness h;
  {
    auto e = h.open();
    ASSERT_TRUE(e->schedule(target(), msg("a"), sched(100'000, 0, 0, "")).ok());
    ASSERT_TRUE(e->schedule(target(), msg("b"), sched(100'001, 0, 0, "")).ok());
    ASSERT_TRUE(e->close().ok());
  }
  auto names = storage::Env::posix()->list_dir(h.dir);
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  {
    std::ofstream f(h.dir + "/" + (*names)[0], std::ios::app | std::ios::binary);
    f << std::string("\0\0\0\x30garbage", 11);  // a record header promising more than is there
  }
  auto e = h.open();
  // Appending to the damaged slot first checks and cuts its tail.
  ASSERT_TRUE(e->schedule(target(), msg("c"), sched(100'002, 0, 0, "")).ok());
  h.advance(*e, 100'002);
  EXPECT_EQ(h.bodies(), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(e->close().ok());
}

TEST(DelayEngine, FarFutureEntriesStayOnDiskNotInMemory) {
  Harness h;
  h.cfg.slot_ms = 1000;
  auto e = h.open();
  const int kN = 100'000;
  const int64_t kDay = 86'400'000;
  // Spread over 50 slots a day from now.
  for (int i = 0; i < kN; ++i)
    ASSERT_TRUE(e->schedule(target(), msg("m" + std::to_string(i)), sched(kDay + (i % 50) * 1000, 0, 0, "")).ok());
  EXPECT_EQ(e->loaded_entries(), 0u);
  EXPECT_EQ(e->loaded_slots(), 0u);
  EXPECT_EQ(e->slot_count(), 50u);
  EXPECT_EQ(e->buffered_bytes(), 0u);  // written out, and the buffers given back
  ASSERT_TRUE(e->close().ok());

  // After a restart nothing is read until a slot comes close.
  auto e2 = h.open();
  EXPECT_EQ(e2->slot_count(), 50u);
  EXPECT_EQ(e2->loaded_entries(), 0u);
  h.advance(*e2, kDay - h.cfg.preload_ms);
  // Only the first slot is loaded: its 2,000 entries, none of the others.
  EXPECT_EQ(e2->loaded_slots(), 1u);
  EXPECT_EQ(e2->loaded_entries(), size_t(kN / 50));
  EXPECT_TRUE(h.fired.empty());
  h.advance(*e2, h.cfg.preload_ms + 50 * 1000);
  EXPECT_EQ(h.fired.size(), size_t(kN));
  ASSERT_TRUE(e2->close().ok());
}

TEST(DelayEngine, AfterALongOutageLoadingIsBoundedAndOrderKept) {
  Harness h;
  h.cfg.slot_ms = 1000;
  h.cfg.max_loaded = 10;
  h.cfg.max_in_flight = 3;
  h.auto_done = false;
  {
    auto e = h.open();
    for (int i = 0; i < 40; ++i)  // 10 slots x 4 entries
      ASSERT_TRUE(e->schedule(target(), msg(std::to_string(1000 + i)), sched(1000 + i * 250, 0, 0, "")).ok());
    ASSERT_TRUE(e->close().ok());
  }
  h.clock += 3'600'000;
  auto e = h.open();
  size_t max_loaded = 0;
  while (!h.pending.empty()) {
    max_loaded = std::max(max_loaded, e->loaded_entries());
    auto batch = std::move(h.pending);
    h.pending.clear();
    for (auto& d : batch) d(status{});
    e->tick();
  }
  EXPECT_LE(max_loaded, h.cfg.max_loaded + 4);  // one slot may overshoot the bound
  auto got = h.bodies();
  ASSERT_EQ(got.size(), 40u);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  ASSERT_TRUE(e->close().ok());
}

}  // namespace
}  // namespace wharf::broker::delay
