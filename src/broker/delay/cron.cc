#include "broker/delay/cron.h"

#include <array>
#include <cctype>
#include <vector>

namespace wharf::broker::delay {

// Days since 1970-01-01 of a civil date, and back: the era-based algorithm
// (400-year eras of 146097 days; the year starts in March so that the leap
// day is the last day of the year).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                  // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          // [0, 146096]
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = unsigned(doy - (153 * mp + 2) / 5 + 1);
  m = unsigned(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

namespace {

struct Field {
  const char* name;
  int lo, hi;
  const char* const* names;  // names[i] stands for lo + i; null = numbers only
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

constexpr Field kFields[5] = {
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, kMonthNames},
    {"day-of-week", 0, 7, kDayNames},
};

Error bad(const Field& f, std::string_view item, const char* why) {
  return make_error(Errc::kInvalidArgument,
                    std::string("cron ") + f.name + " field '" + std::string(item) + "': " + why);
}

// One number or name of field `f`; advances `s`.
result<int> value(const Field& f, std::string_view item, std::string_view& s) {
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    int v = 0;
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      if (v > 1000) return bad(f, item, "number too large");
      ++i;
    }
    s.remove_prefix(i);
    if (v < f.lo || v > f.hi) return bad(f, item, "out of range");
    return v;
  }
  if (f.names && s.size() >= 3) {
    std::string up;
    for (size_t i = 0; i < 3; ++i) up += char(std::toupper(static_cast<unsigned char>(s[i])));
    for (int i = 0; f.names[i]; ++i)
      if (up == f.names[i]) {
        s.remove_prefix(3);
        return f.lo + i;
      }
  }
  return bad(f, item, "expected a number");
}

// Parses one field into a bit set (bit v for each value v).
result<uint64_t> parse_field(const Field& f, std::string_view text) {
  if (text.empty()) return bad(f, text, "empty");
  uint64_t bits = 0;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::string_view s = item;
    int from, to;
    if (!s.empty() && s[0] == '*') {
      s.remove_prefix(1);
      from = f.lo;
      to = f.hi;
    } else {
      auto a = value(f, item, s);
      if (!a.ok()) return a.error();
      from = to = *a;
      if (!s.empty() && s[0] == '-') {
        s.remove_prefix(1);
        auto b = value(f, item, s);
        if (!b.ok()) return b.error();
        to = *b;
        if (to < from) return bad(f, item, "range ends before it starts");
      } else if (!s.empty() && s[0] == '/') {
        to = f.hi;  // "N/STEP": from N to the maximum
      }
    }
    int step = 1;
    if (!s.empty() && s[0] == '/') {
      s.remove_prefix(1);
      if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return bad(f, item, "bad step");
      step = 0;
      while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
        step = step * 10 + (s[0] - '0');
        if (step > 1000) return bad(f, item, "step too large");
        s.remove_prefix(1);
      }
      if (step == 0) return bad(f, item, "step must be positive");
    }
    if (!s.empty()) return bad(f, item, "unexpected characters");
    for (int v = from; v <= to; v += step) bits |= uint64_t(1) << v;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return bits;
}

}  // namespace

result<Cron> Cron::parse(std::string_view expr) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    size_t start = i;
    while (i < expr.size() && !std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    if (i > start) parts.push_back(expr.substr(start, i - start));
  }
  if (parts.size() != 5)
    return make_error(Errc::kInvalidArgument,
                      "cron expression '" + std::string(expr) + "' must have 5 fields (minute hour day-of-month "
                      "month day-of-week), has " + std::to_string(parts.size()));
  std::array<uint64_t, 5> bits{};
  for (size_t k = 0; k < 5; ++k) {
    auto b = parse_field(kFields[k], parts[k]);
    if (!b.ok()) return b.error();
    bits[k] = *b;
  }
  Cron c;
  c.text_ = std::string(expr);
  c.minutes_ = bits[0];
  c.hours_ = uint32_t(bits[1]);
  c.mdays_ = uint32_t(bits[2]);
  c.months_ = uint16_t(bits[3]);
  uint64_t w = bits[4];
  if (w & (uint64_t(1) << 7)) w |= 1;  // 7 is Sunday too
  c.wdays_ = uint8_t(w & 0x7f);
  c.mday_any_ = parts[2][0] == '*';
  c.wday_any_ = parts[4][0] == '*';
  return c;
}

std::optional<int64_t> Cron::next_after(int64_t after_ms) const {
  constexpr int64_t kMinute = 60'000, kDay = 86'400'000;
  // The first whole minute strictly after after_ms (floor division for
  // times before the epoch).
  int64_t t = (after_ms >= 0 ? after_ms / kMinute : (after_ms - kMinute + 1) / kMinute) * kMinute + kMinute;
  int64_t day = t >= 0 ? t / kDay : (t - kDay + 1) / kDay;
  int first_minute = int((t - day * kDay) / kMinute);
  // Eight years always contain every (month, day) pair that exists at all,
  // February 29th included (at most 8 years apart, around 2100).
  for (int64_t n = 0; n < 8 * 366 + 1; ++n, ++day, first_minute = 0) {
    int64_t y;
    unsigned m, d;
    civil_from_days(day, y, m, d);
    if (!(months_ & (1u << m))) continue;
    unsigned wd = unsigned(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday (4)
    bool mday_ok = mdays_ & (1u << d);
    bool wday_ok = wdays_ & (1u << wd);
    bool day_ok = (mday_any_ || wday_any_) ? (mday_ok && wday_ok) : (mday_ok || wday_ok);
    if (!day_ok) continue;
    for (int minute = first_minute; minute < 24 * 60; ++minute) {
      int h = minute / 60;
      if (!(hours_ & (1u << h))) {
        minute = h * 60 + 59;  // skip the rest of this hour
        continue;
      }
      if (minutes_ & (uint64_t(1) << (minute % 60))) return day * kDay + int64_t(minute) * kMinute;
    }
  }
  return std::nullopt;
}

}  // namespace wharf::broker::delay
