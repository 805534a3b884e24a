#include "broker/delay/schedule.h"

#include <algorithm>
#include <string>

namespace wharf::broker::delay {

status validate(const Schedule& s) {
  if (s.delay_ms < 0) return make_error(Errc::kInvalidArgument, "delay must not be negative");
  if (s.period_ms < 0) return make_error(Errc::kInvalidArgument, "period must not be negative");
  if (s.repeat < 0) return make_error(Errc::kInvalidArgument, "repeat must not be negative");
  if (s.delay_ms > kMaxScheduleMs || s.period_ms > kMaxScheduleMs ||
      (s.repeat > 0 && s.period_ms > kMaxScheduleMs / s.repeat))
    return make_error(Errc::kInvalidArgument, "delay, period and period*repeat must each be at most " +
                                                  std::to_string(kMaxScheduleMs) + " ms (100 years)");
  if (!s.cron.empty()) {
    auto c = Cron::parse(s.cron);
    if (!c.ok()) return c.error();
  }
  return {};
}

std::optional<Occurrence> first_occurrence(const Schedule& s, const Cron* cron, int64_t now_ms) {
  if (!cron) return Occurrence{now_ms, 0, now_ms + s.delay_ms};
  auto t = cron->next_after(now_ms);
  if (!t) return std::nullopt;
  return Occurrence{*t, 0, *t + s.delay_ms};
}

std::optional<Occurrence> next_occurrence(const Schedule& s, const Cron* cron, const Occurrence& cur,
                                          int64_t now_ms) {
  if (cur.k < s.repeat) {
    int32_t k = cur.k + 1;
    return Occurrence{cur.base, k, cur.base + s.delay_ms + s.period_ms * k};
  }
  if (!cron) return std::nullopt;
  int64_t after = std::max(cur.base + s.period_ms * s.repeat, now_ms - s.delay_ms);
  auto t = cron->next_after(after);
  if (!t) return std::nullopt;
  return Occurrence{*t, 0, *t + s.delay_ms};
}

}  // namespace wharf::broker::delay
