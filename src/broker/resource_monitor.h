// ResourceMonitor: resource alarms (flow control), as RabbitMQ's memory and
// disk alarms. It samples the process's memory use (resident set size) and
// the free space of the data dir's file system, compares them with
// watermarks, and tells its listeners whenever the set of raised alarms
// changes; the front ends then block publishers (AMQP connection.blocked)
// until every alarm has cleared. Nothing is dropped: publishers are only
// slowed down.
//
//   memory alarm  raised when memory_bytes >= memory_high_watermark;
//                 cleared when memory_bytes < watermark - watermark/20.
//   disk alarm    raised when disk_free_bytes < disk_free_limit;
//                 cleared when disk_free_bytes >= limit + limit/20.
// The 5% band (hysteresis) keeps a process hovering at a watermark from
// blocking and unblocking its clients on every sample. A watermark of 0
// turns that alarm off. A sample that lacks a measurement (the probe could
// not read it) leaves that alarm as it was.
//
// Defaults (ResourceConfig) follow RabbitMQ: a high watermark of 40% of the
// memory available to the process (physical RAM, or the cgroup limit when
// lower), a disk free limit of 50 MB.
//
// Thread rules: check(), subscribe(), unsubscribe() and alarms() may be
// called from any thread. start() runs check() every check_interval_ms on
// the monitor's own thread (so a slow statvfs never stalls a shard); stop()
// joins it. Listeners run on the thread that called check(), under the
// monitor's mutex, in the order of the changes; they must be quick (post the
// news to where it is needed, see subscribe_on_shards) and must not call
// back into the monitor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/ids.h"
#include "broker/config.h"  // ResourceConfig

namespace wharf::broker {

class Shards;

// One measurement. nullopt: could not be measured this time.
struct ResourceSample {
  std::optional<uint64_t> memory_bytes;
  std::optional<uint64_t> disk_free_bytes;
};

struct ResourceAlarms {
  bool memory = false;
  bool disk = false;

  bool any() const { return memory || disk; }
  // The connection.blocked reason, worded as RabbitMQ's: "low on memory",
  // "low on disk", "low on memory & disk"; "" when none.
  std::string reason() const;
  bool operator==(const ResourceAlarms&) const = default;
};

class ResourceMonitor {
 public:
  using Probe = std::function<ResourceSample()>;
  using Listener = std::function<void(const ResourceAlarms&)>;

  // `memory_available_bytes` is what a memory watermark of 0 is 40% of.
  ResourceMonitor(ResourceConfig config, Probe probe, uint64_t memory_available_bytes);
  ~ResourceMonitor();  // stop()
  ResourceMonitor(const ResourceMonitor&) = delete;
  ResourceMonitor& operator=(const ResourceMonitor&) = delete;

  // The probe of this process: RSS from /proc/self/statm, free space (for
  // unprivileged users: f_bavail) of `data_dir` from statvfs.
  static Probe system_probe(std::string data_dir);
  // Physical memory, or the cgroup (v2 or v1) memory limit when lower.
  static uint64_t memory_available();

  // Takes one sample, updates the alarms and, if they changed, logs the
  // change and calls every listener. Returns the alarms now in force.
  ResourceAlarms check();
  // check() once now (so the alarms are right before the first client
  // connects), then every check_interval_ms on a thread until stop().
  void start();
  void stop();

  ResourceAlarms alarms() const;
  uint64_t memory_high_watermark() const { return memory_watermark_; }
  uint64_t disk_free_limit() const { return config_.disk_free_limit_bytes; }

  // Calls `fn` with the current alarms at once, then after every change.
  // Returns an id for unsubscribe(); once that returns, `fn` is not running
  // and will not run again.
  uint64_t subscribe(Listener fn);
  void unsubscribe(uint64_t id);

 private:
  void run();

  const ResourceConfig config_;
  const Probe probe_;
  const uint64_t memory_watermark_;  // resolved: never 0 unless the alarm is off

  mutable std::mutex mu_;  // guards everything below
  ResourceAlarms alarms_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_id_ = 1;
  bool probe_failed_logged_ = false;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

// Runs fn(shard, alarms) on every shard's thread: once at once with the
// current alarms, then after every change. Per shard the calls arrive in
// the order of the changes (posts to one shard are FIFO), so the last call a
// shard has seen is the state in force. Returns the subscription id; after
// unsubscribe() posts already queued may still run: the caller keeps what
// `fn` touches alive until each shard has run a later post of its own.
uint64_t subscribe_on_shards(ResourceMonitor& m, Shards& shards,
                             std::function<void(ShardId, const ResourceAlarms&)> fn);
// Ends such a subscription and returns once every shard has run past the
// news already posted to it, so what `fn` touched may go. Call from a
// thread that is none of the shards (it blocks on them).
void unsubscribe_on_shards(ResourceMonitor& m, Shards& shards, uint64_t id);

}  // namespace wharf::broker
