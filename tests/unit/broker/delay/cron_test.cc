// The cron parser and next-time computation (AMQ_SCHEDULED_CRON), and the
// schedule arithmetic of repeat/period runs.
#include <gtest/gtest.h>

#include <cstdint>

#include "broker/delay/cron.h"
#include "broker/delay/schedule.h"

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

// ms since the epoch of a UTC date and time.
int64_t at(int64_t y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60'000 + s * 1000;
}

int64_t next(const char* expr, int64_t after) {
  auto c = Cron::parse(expr);
  EXPECT_TRUE(c.ok()) << expr << ": " << (c.ok() ? "" : c.error().message);
  if (!c.ok()) return -1;
  auto t = c->next_after(after);
  return t ? *t : -1;
}

TEST(Calendar, CivilDaysRoundTrip) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  for (int64_t d = -800'000; d < 800'000; d += 997) {
    int64_t y;
    unsigned m, dd;
    civil_from_days(d, y, m, dd);
    EXPECT_EQ(days_from_civil(y, m, dd), d);
  }
}

TEST(Cron, EveryMinuteIsTheNextWholeMinute) {
  EXPECT_EQ(next("* * * * *", at(2026, 11, 22, 7, 30, 15)), at(2026, 11, 22, 7, 31));
  // Strictly after: a time on a minute boundary moves to the next one.
  EXPECT_EQ(next("* * * * *", at(2026, 11, 22, 7, 31)), at(2026, 11, 22, 7, 32));
}

TEST(Cron, StepsRangesAndLists) {
  EXPECT_EQ(next("*/15 * * * *", at(2026, 1, 1, 12, 7, 30)), at(2026, 1, 1, 12, 15));
  EXPECT_EQ(next("*/15 * * * *", at(2026, 1, 1, 12, 50)), at(2026, 1, 1, 13, 0));
  EXPECT_EQ(next("10-50/20 * * * *", at(2026, 1, 1, 12, 31)), at(2026, 1, 1, 12, 50));
  EXPECT_EQ(next("5/20 * * * *", at(2026, 1, 1, 12, 46)), at(2026, 1, 1, 13, 5));
  EXPECT_EQ(next("0 8,12,18 * * *", at(2026, 1, 1, 12, 0, 1)), at(2026, 1, 1, 18, 0));
  EXPECT_EQ(next("30 23 31 12 *", at(2026, 1, 1)), at(2026, 12, 31, 23, 30));
}

TEST(Cron, WeekdaysAndNames) {
  // 2026-11-21 is a Saturday.
  EXPECT_EQ(next("0 9 * * MON-FRI", at(2026, 11, 21, 10)), at(2026, 11, 23, 9));
  EXPECT_EQ(next("0 9 * * 1-5", at(2026, 11, 21, 10)), at(2026, 11, 23, 9));
  // 0 and 7 are Sunday.
  EXPECT_EQ(next("0 0 * * 7", at(2026, 11, 21, 10)), at(2026, 11, 22, 0));
  EXPECT_EQ(next("0 0 * * sun", at(2026, 11, 21, 10)), at(2026, 11, 22, 0));
  EXPECT_EQ(next("0 0 1 jan *", at(2026, 11, 21)), at(2027, 1, 1));
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // "the 13th, or any Friday": from Saturday 2026-11-21 the next Friday
  // (27th) comes before the next 13th (December).
  EXPECT_EQ(next("0 0 13 * FRI", at(2026, 11, 21)), at(2026, 11, 27));
  // With day-of-week "*", only the day of month counts.
  EXPECT_EQ(next("0 0 13 * *", at(2026, 11, 21)), at(2026, 12, 13));
}

TEST(Cron, LeapDaysAndImpossibleDates) {
  EXPECT_EQ(next("0 0 29 2 *", at(2025, 3, 1)), at(2028, 2, 29));
  auto c = Cron::parse("0 0 30 2 *");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->next_after(at(2026, 1, 1)).has_value());
}

TEST(Cron, RejectsMalformedExpressions) {
  for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                          "* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *", "1,,2 * * * *", "* * * FOO *",
                          "1- * * * *"}) {
    auto c = Cron::parse(bad);
    EXPECT_FALSE(c.ok()) << "'" << bad << "' parsed";
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, Errc::kInvalidArgument);
    }
  }
}

TEST(ScheduleMath, DelayPeriodRepeatGivesRepeatPlusOneDeliveries) {
  Schedule s = sched(100, 50, 3);
  auto o = first_occurrence(s, nullptr, 1000);
  ASSERT_TRUE(o);
  std::vector<int64_t> dues;
  while (o) {
    dues.push_back(o->due);
    o = next_occurrence(s, nullptr, *o, o->due);
  }
  EXPECT_EQ(dues, (std::vector<int64_t>{1100, 1150, 1200, 1250}));
}

TEST(ScheduleMath, CronStartsARunAtEachTickAndSkipsMissedTicks) {
  auto c = Cron::parse("*/10 * * * *");
  ASSERT_TRUE(c.ok());
  Schedule s = sched(1000, 2000, 1, "*/10 * * * *");
  int64_t t0 = at(2026, 1, 1, 12, 3);
  auto o = first_occurrence(s, &*c, t0);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->due, at(2026, 1, 1, 12, 10, 1));
  o = next_occurrence(s, &*c, *o, o->due);
  EXPECT_EQ(o->due, at(2026, 1, 1, 12, 10, 3));
  o = next_occurrence(s, &*c, *o, o->due);
  EXPECT_EQ(o->due, at(2026, 1, 1, 12, 20, 1));
  // Fired an hour late (broker was down): the missed ticks are skipped.
  o = next_occurrence(s, &*c, Occurrence{o->base, 1, o->due + 2000}, at(2026, 1, 1, 13, 25));
  EXPECT_EQ(o->due, at(2026, 1, 1, 13, 30, 1));
}

TEST(ScheduleMath, ValidateRejectsNegativesAndBadCron) {
  EXPECT_FALSE(validate(sched(-1, 0, 0, "")).ok());
  EXPECT_FALSE(validate(sched(0, -1, 0, "")).ok());
  EXPECT_FALSE(validate(sched(0, 0, -1, "")).ok());
  EXPECT_FALSE(validate(sched(0, 0, 0, "nope")).ok());
  EXPECT_TRUE(validate(sched(5, 5, 2, "* * * * *")).ok());
  // Due times must not overflow: a delay, a period or period x repeat past
  // a century is refused (INT64_MAX once wrapped into the past and crashed
  // the engine).
  EXPECT_TRUE(validate(sched(kMaxScheduleMs, 0, 0, "")).ok());
  EXPECT_FALSE(validate(sched(kMaxScheduleMs + 1, 0, 0, "")).ok());
  EXPECT_FALSE(validate(sched(INT64_MAX, 0, 0, "")).ok());
  EXPECT_FALSE(validate(sched(0, kMaxScheduleMs + 1, 1, "")).ok());
  EXPECT_FALSE(validate(sched(0, kMaxScheduleMs / 2 + 1, 2, "")).ok());
}

}  // namespace
}  // namespace wharf::broker::delay
