// Engine: scheduled delivery. Holds messages until their due time, on disk,
// and then hands each to a fire callback that routes it (AMQP
// x-delayed-message, STOMP AMQ_SCHEDULED_*). Protocol-neutral; the broker's
// wiring is delay_host.h.
//
// Model. Time is cut into slots of slot_ms. Every pending delivery is one
// record in the append-only file of the slot its due time falls in
// (slot_format.h). In memory the engine keeps one small Slot per slot file
// (O(slots), never O(messages)) plus, for the slots that are "loaded", one
// 24-byte Ref per unfired entry in a min-heap by due time. A slot is loaded
// (its file read, torn tail cut, fired entries skipped) once its start is
// within preload_ms of now; slots load strictly in time order, so every entry
// of an unloaded slot is due after every loaded one. A timer (hooks.wake_at)
// is armed at the earliest of: the heap's first due time, the next slot's
// load time. Message bytes are read back from the file only when they fire.
//
// Firing. tick() pops every due Ref (at most max_in_flight outstanding),
// reads its record and calls hooks.fire(target, message, done). When done(ok)
// runs, the next occurrence (repeat/period/cron, schedule.h) is appended as a
// new entry and a kFired record for the old one is appended to its slot.
// done(error) retries the delivery retry_ms later. A slot whose time is past
// and all of whose entries are done is deleted after the next flush round
// completes (so its kFired records, and the copies they stand for, never
// need to be read again).
//
// Durability. schedule()'s `done` runs with ok once the entry is written to
// the file: after a group-committed fdatasync covering it when the message
// is persistent (delivery_mode 2), else as soon as it is buffered. Records
// are written to the page cache at the end of each event-loop turn, so
// kill -9 loses no accepted entry and no kFired record; a power cut may lose
// the unsynced ones.
//
// Delivery guarantee: at-least-once. A message is never lost once
// confirmed; the only duplicate is the delivery whose copies were stored but
// whose kFired record was not yet written when the process died (the end of
// the event-loop turn in which its done ran: kill -9), or not yet synced
// (the last flush interval: power cut). Such a delivery is made again after
// the restart.
//
// Ordering. Entries fire in due-time order; equal due times fire in the
// order they were scheduled. Entries due in the past fire at once.
//
// Thread rules. One shard thread owns the engine: every method and every
// callback (fire, done, wake_at, defer) runs there; fire's `done` must be
// called on it too. Only Log::run_flush on a FlushJob from
// begin_flush_round() runs elsewhere (the shard's flusher thread).
//
// Lifetime. Held by shared_ptr. close() syncs everything; after it, fires in
// flight are forgotten (they fire again after the restart) and no callback
// runs any more.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "broker/delay/schedule.h"
#include "broker/flushable.h"
#include "broker/queue/message.h"
#include "broker/queue/message_codec.h"
#include "storage/env.h"

namespace wharf::broker::delay {

struct EngineConfig {
  int64_t slot_ms = 10'000;       // width of a time slot (one file)
  int64_t preload_ms = 2'000;     // a slot is loaded this long before it starts
  size_t max_in_flight = 4'096;   // fires whose done has not run yet
  // Loading stops while this many Refs are in memory (resumes as they fire);
  // bounds memory after a long outage with many overdue slots.
  size_t max_loaded = 1'000'000;
  int64_t retry_ms = 1'000;       // a failed fire is retried this much later
};

// `done` must be called exactly once, on the engine's thread.
using FireDone = std::function<void(status)>;
using FireFn = std::function<void(const DelayTarget&, const queue::Message&, FireDone done)>;

struct EngineHooks {
  storage::Env* env = nullptr;      // null = Env::posix()
  std::function<int64_t()> now_ms;  // wall clock, ms since the epoch; null = system clock
  // Runs `fn` later on this thread (asio::post). Null: pending writes are
  // made at the end of each call, and tick() after a fire completes runs
  // only when the owner calls it.
  std::function<void(std::function<void()>)> defer;
  // Asks for a group-commit round (Flusher::dirty); urgent when a schedule
  // confirm waits on it. Null: the owner runs rounds (flush_now()).
  std::function<void(const std::shared_ptr<Flushable>&, size_t bytes, bool urgent)> request_flush;
  // Asks the owner to call tick() at (or soon after) `at_ms`; a later call
  // supersedes the earlier one.
  std::function<void(int64_t at_ms)> wake_at;
  FireFn fire;                      // required
};

class Engine : public Flushable, public std::enable_shared_from_this<Engine> {
 public:
  // Opens or creates the engine in `dir` (lists the slot files; reads none
  // of them) and calls tick() once, so overdue entries start firing.
  static result<std::shared_ptr<Engine>> open(std::string dir, EngineConfig cfg, EngineHooks hooks);
  ~Engine() override;  // no sync: dropping an open engine is a crash (tests rely on it); call close()

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Stores `m` for delivery to `t` per `s`. `done` (may be null) runs once
  // (see Durability above). Errors, returned and not passed to done:
  // kInvalidArgument (schedule.h validate(), names over 65535 bytes),
  // kNotFound (closed).
  status schedule(const DelayTarget& t, const queue::Message& m, const Schedule& s,
                  std::function<void(status)> done = {});

  // Fires what is due, loads slots that come close, deletes finished ones,
  // and asks for the next wake-up.
  void tick();

  // Writes and fdatasyncs everything and closes the files. Blocks (shutdown).
  status close();
  bool closed() const { return closed_; }

  // ---- counters (tests, metrics) ----
  size_t slot_count() const { return slots_.size(); }  // slot files (and slots being written)
  size_t loaded_slots() const;
  size_t loaded_entries() const { return heap_.size(); }  // Refs in memory
  size_t in_flight() const { return in_flight_; }
  // Write-buffer capacity held by all slots (0 once everything is written;
  // O(slots) to compute).
  size_t buffered_bytes() const;
  uint64_t scheduled_total() const { return scheduled_total_; }  // schedule() calls accepted
  uint64_t fired_total() const { return fired_total_; }          // deliveries completed (done ok)
  std::optional<int64_t> next_due() const;

  // ---- group commit (Flushable) ----
  bool flush_closed() const override { return closed_; }
  storage::FlushJob begin_flush_round() override;
  void end_flush_round(const storage::FlushJob& job, const status& st) override;

 private:
  // A pending entry of a loaded slot. 24 bytes: this is the per-message
  // memory, and only for loaded slots. The slot is stored relative to the
  // slot of the due time (they differ only for entries placed in the
  // current slot because their time had passed, and for retries).
  struct Ref {
    int64_t due;
    uint64_t pos;        // record position in the slot file
    uint32_t len;        // record length, header included
    int32_t slot_delta;  // slot = slot_of(due) + slot_delta
  };
  static_assert(sizeof(Ref) == 24, "Ref is the per-message memory of loaded slots");
  struct Later {  // heap order: earliest due first, then slot, then position (equal dues: equal base slots)
    bool operator()(const Ref& a, const Ref& b) const;
  };
  struct Slot {
    int64_t index = 0;
    std::shared_ptr<storage::File> file;  // open while loaded or holding unsynced bytes
    uint64_t written = 0;    // bytes in the file (valid once `checked`)
    std::string out;         // appended records not yet written
    bool checked = false;    // `written` known and the tail is valid (new file, or scanned)
    bool loaded = false;
    bool unsynced = false;   // written bytes not yet handed to a flush round
    uint64_t outstanding = 0;  // loaded: entries not yet done (in the heap or in flight)
    bool retiring = false;     // finished: delete once durable_seq_ reaches retire_seq
    uint64_t retire_seq = 0;
  };
  struct Waiter {
    uint64_t seq;
    std::function<void(status)> done;
  };

  Engine(std::string dir, EngineConfig cfg, EngineHooks hooks);
  status recover();
  int64_t now() const;
  int64_t slot_of(int64_t due) const;
  Ref make_ref(int64_t due, int64_t slot, uint64_t pos, size_t len) const;
  int64_t slot_of(const Ref& r) const { return slot_of(r.due) + r.slot_delta; }
  std::string path_of(int64_t index) const;

  // The slot `index`, created if missing (loaded iff index < frontier_).
  Slot& slot(int64_t index);
  // Appends a record to `s` (buffered); returns its position.
  result<uint64_t> append(Slot& s, const std::string& record);
  status open_file(Slot& s);
  // Reads the file to the first bad record, truncating there; calls
  // on_record(pos, header+body) for each good record.
  status scan(Slot& s, const std::function<void(uint64_t, std::span<const uint8_t>)>& on_record);
  status load(Slot& s);
  void advance_frontier(int64_t now);
  void fire(Ref ref);
  void fired(Ref ref, const std::vector<uint8_t>& record, status st);
  void maybe_retire(Slot& s, int64_t now);
  void arm();
  void after_call();  // persist now, or at the end of the turn (hooks.defer)
  void persist();
  void mark_unsynced(Slot& s);
  void flush_requested(size_t bytes, bool urgent);
  void fail_waiters(const status& st);

  std::string dir_;
  EngineConfig cfg_;
  EngineHooks hooks_;
  storage::Env* env_;
  queue::BatchEncoder encoder_;
  std::vector<uint8_t> batch_;  // scratch
  std::string record_;          // scratch

  std::map<int64_t, Slot> slots_;
  int64_t frontier_;            // every slot with index < frontier_ is loaded
  std::vector<Ref> heap_;       // Refs of loaded slots not yet fired
  size_t in_flight_ = 0;

  uint64_t write_seq_ = 0;      // increases with every appended record
  uint64_t round_seq_ = 0;      // write_seq_ covered by the round in flight
  uint64_t durable_seq_ = 0;
  std::deque<Waiter> waiters_;  // by seq
  std::vector<int64_t> retiring_;
  std::vector<int64_t> to_write_;  // slots with records in `out`
  std::vector<int64_t> to_sync_;   // slots with written, unsynced bytes
  std::vector<int64_t> in_round_;  // slots synced by the round in flight

  uint64_t scheduled_total_ = 0, fired_total_ = 0, failures_ = 0;
  int64_t wake_requested_ = -1;
  bool persist_scheduled_ = false;
  bool tick_scheduled_ = false;
  bool in_tick_ = false;
  bool closed_ = false;
};

}  // namespace wharf::broker::delay
