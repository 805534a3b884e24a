// Where a delayed message goes and when: the values the scheduled-delivery
// engine (engine.h) stores with every pending message.
//
// Semantics (ActiveMQ's AMQ_SCHEDULED_* headers, RabbitMQ's x-delay):
//   no cron   deliveries at t0+delay, t0+delay+period, ..., t0+delay+period*repeat
//             (repeat+1 deliveries; t0 = when it was scheduled)
//   cron      every time T the cron expression fires starts a "run" with the
//             same shape: T+delay, T+delay+period, ..., T+delay+period*repeat.
//             Runs never overlap: the next run starts at the first cron time
//             after the last delivery's T+period*repeat (and after now-delay,
//             so ticks missed while the broker was down are skipped, not
//             replayed). A cron schedule never ends by itself.
// Deliveries of a repeat that fell due while the broker was down are made
// at once after the restart, in order.
//
// Thread rules: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "broker/delay/cron.h"

namespace wharf::broker::delay {

// Where a fired message is delivered. With `queue` set the message is
// stored straight into that queue of `vhost` (STOMP /queue/X); otherwise
// it is routed through `exchange` with `routing_key` (AMQP, STOMP
// /topic/X and /exchange/X/key), as if published there at firing time.
struct DelayTarget {
  std::string vhost;
  std::string exchange;
  std::string routing_key;
  std::string queue;
  bool operator==(const DelayTarget&) const = default;
};

struct Schedule {
  int64_t delay_ms = 0;   // >= 0
  int64_t period_ms = 0;  // >= 0
  int32_t repeat = 0;     // >= 0: repeat+1 deliveries (per cron run)
  std::string cron;       // "" = none; else a 5-field expression (cron.h)
};

// Where one delivery of a schedule stands: run `base` (t0 or the cron time),
// `k` deliveries of this run already made, the next one due at `due`.
struct Occurrence {
  int64_t base = 0;
  int32_t k = 0;
  int64_t due = 0;
  bool operator==(const Occurrence&) const = default;
};

// The furthest ahead a schedule may reach: delay, period and period*repeat
// each at most this (100 years). Due times are int64 ms since the epoch;
// without a bound, now+delay or period*k could overflow into the past and
// break the engine's slot arithmetic.
inline constexpr int64_t kMaxScheduleMs = int64_t(36525) * 24 * 3600 * 1000;  // 36525 days

// kInvalidArgument for negative numbers, numbers past kMaxScheduleMs, or a
// bad cron.
status validate(const Schedule& s);
// The first delivery of a schedule made at `now_ms`. REQUIRES: validate(s).
// nullopt only for a cron that never fires.
std::optional<Occurrence> first_occurrence(const Schedule& s, const Cron* cron, int64_t now_ms);
// The delivery after `cur`, or nullopt when the schedule is finished.
std::optional<Occurrence> next_occurrence(const Schedule& s, const Cron* cron, const Occurrence& cur,
                                          int64_t now_ms);

}  // namespace wharf::broker::delay
