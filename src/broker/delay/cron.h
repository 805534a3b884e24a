// Cron: the standard five-field cron expression of AMQ_SCHEDULED_CRON and
// the next time it fires.
//
//   minute(0-59) hour(0-23) day-of-month(1-31) month(1-12) day-of-week(0-7)
//
// Each field is a comma-separated list of items; an item is "*", "N" or
// "N-M", optionally followed by "/STEP" ("*/15", "10-50/20"; "N/STEP" means
// N up to the field's maximum). Months accept JAN..DEC and days of week
// SUN..SAT (any case); day of week 0 and 7 are both Sunday. As in Vixie
// cron, when both day-of-month and day-of-week are restricted (neither
// starts with "*") a day matches if EITHER matches; otherwise both must.
//
// Times are UTC (a broker's schedule must not jump with the host's DST).
//
// Thread rules: a Cron is an immutable value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace wharf::broker::delay {

class Cron {
 public:
  // kInvalidArgument naming the field for anything malformed or out of range.
  static result<Cron> parse(std::string_view expr);

  // The first minute boundary strictly after `after_ms` (ms since the
  // epoch, UTC) that matches, or nullopt if none within eight years (e.g.
  // "0 0 30 2 *": February 30th never comes).
  std::optional<int64_t> next_after(int64_t after_ms) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  uint64_t minutes_ = 0;  // bit i: minute i
  uint32_t hours_ = 0;
  uint32_t mdays_ = 0;    // bit d: day d of the month (1..31)
  uint16_t months_ = 0;   // bit m: month m (1..12)
  uint8_t wdays_ = 0;     // bit w: weekday w (0 = Sunday .. 6)
  bool mday_any_ = true;  // the day-of-month field starts with '*'
  bool wday_any_ = true;
};

// Calendar helpers (proleptic Gregorian, UTC), exposed for tests.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d);

}  // namespace wharf::broker::delay
