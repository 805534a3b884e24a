// MetaStore: the on-disk form of the routing registry, an append-only record
// log plus a periodic snapshot, written by a background thread with group
// commit. It knows records only as JSON; what they mean is the Registry's.
//
// Files in <data>/meta/:
//
//   routing.json   snapshot: {"version": 1, "seq": S, "vhosts": [...],
//                  "users": [...], "permissions": [...], "exchanges": [...],
//                  "queues": [...], "bindings": [...]}; replaced atomically
//                  (write routing.json.tmp, fdatasync, rename, fsync dir)
//   routing.log    one record per line:  <crc> SP <json> LF
//                  <crc> is the CRC-32C of <json> as 8 lowercase hex digits;
//                  <json> is {"seq": N, "op": "...", ...}. Records with
//                  seq <= S are already in the snapshot and skipped.
//
// Recovery: the snapshot, then every log record with a larger seq, in order.
// A bad line with no good line after it is a torn write from a crash and is
// cut off; a bad line followed by good ones is corruption (kCorrupt).
//
// Durability promise: append() only queues a record in memory. The flusher
// thread writes and fdatasyncs queued records at most flush_interval_ms
// after the first of them was queued, or at once when someone waits
// (sync/sync_async), one fdatasync covering everything queued so far. A
// record is durable once durable_seq() >= its seq. When the log outgrows
// both compact_min_bytes and the last snapshot, the thread writes a new
// snapshot and empties the log, so the files stay O(state), and each byte of
// state is rewritten O(1) times on average.
//
// Thread rules: load() before start(), on one thread. append() calls are
// serialised by the caller (the Registry's mutation mutex), with increasing
// seq. sync/sync_async/durable_seq from any thread. The snapshot function
// runs on the flusher thread. Lock order: Registry::mu_ before MetaStore::mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace wharf::broker::routing {

class MetaStore {
 public:
  struct Options {
    std::string dir;                     // <data>/meta
    int64_t flush_interval_ms = 200;     // longest a record waits for fdatasync unless someone asks
    uint64_t compact_min_bytes = 1 << 20;  // never snapshot for a log smaller than this
  };
  struct Snapshot {
    std::string text;  // the JSON document
    uint64_t seq = 0;  // every record up to here is in it
  };
  using ApplyFn = std::function<status(const nlohmann::json&)>;

  explicit MetaStore(Options o);
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  // Feeds the snapshot (if any) to `snapshot`, then each newer log record to
  // `record`. Returns the highest seq seen; 0 when there is no state yet.
  result<uint64_t> load(const ApplyFn& snapshot, const ApplyFn& record);

  // Opens the log for appending and starts the flusher thread.
  // `snapshot` returns the whole state; it is called on the flusher thread.
  status start(std::function<Snapshot()> snapshot);
  // Writes what is queued, stops the thread; later waiters get kShuttingDown.
  void stop();

  // Queues `record`, one JSON object that carries "seq": seq. REQUIRES: seq
  // larger than every earlier append's.
  void append(uint64_t seq, std::string_view record);

  uint64_t durable_seq() const { return durable_seq_.load(std::memory_order_acquire); }
  // Blocks until durable_seq() >= seq; the error of the failed write if any.
  status sync(uint64_t seq);
  // Calls done(status) once durable_seq() >= seq (or the write failed):
  // inline when already durable, else on the flusher thread.
  void sync_async(uint64_t seq, std::function<void(status)> done);

  // For tests and metrics.
  uint64_t log_bytes() const { return log_bytes_.load(); }
  uint64_t snapshots_written() const { return snapshots_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  status write_log(const std::string& data);
  status write_snapshot(const Snapshot& s);
  std::string path(const char* name) const { return opts_.dir + "/" + name; }

  Options opts_;
  std::function<Snapshot()> snapshot_fn_;
  int log_fd_ = -1;                      // flusher thread only (after start)
  std::atomic<uint64_t> log_bytes_{0};   // written by the flusher thread
  uint64_t snapshot_bytes_ = 0;          // flusher thread only
  std::atomic<uint64_t> snapshots_{0};
  std::atomic<uint64_t> durable_seq_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;           // GUARDED_BY(mu_): encoded records not yet written
  uint64_t pending_seq_ = 0;      // GUARDED_BY(mu_): seq of the last appended record
  Clock::time_point deadline_{};  // GUARDED_BY(mu_): when pending_ must be written
  bool urgent_ = false;           // GUARDED_BY(mu_): a waiter wants the next round now
  bool stop_ = false;             // GUARDED_BY(mu_)
  bool running_ = false;          // GUARDED_BY(mu_)
  std::vector<std::pair<uint64_t, std::function<void(status)>>> waiters_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace wharf::broker::routing
