// Partition: one Kafka partition on this broker: a Log, the idempotent
// producer state, and the callbacks waiting for new data (fetch long-poll) or
// for durability (acks=all).
//
// Thread rules: owned by exactly one shard; every method on that shard.
// Lifetime: shared_ptr, because flush rounds and timers may outlive a topic
// deletion; after close() every operation fails with kNotFound.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "broker/flushable.h"
#include "broker/producer_state.h"
#include "storage/log.h"

namespace wharf::broker {

class Partition : public Flushable, public std::enable_shared_from_this<Partition> {
 public:
  static result<std::shared_ptr<Partition>> open(storage::Env* env, std::string dir, std::string topic,
                                                 int32_t id, storage::LogConfig config, int32_t max_message_bytes);

  const std::string& topic() const { return topic_; }
  int32_t id() const { return id_; }
  const std::string& dir() const { return dir_; }
  storage::Log& log() { return *log_; }
  bool closed() const { return closed_; }

  struct AppendOutcome {
    Errc err = Errc::kOk;
    std::string message;
    int64_t base_offset = -1;   // first offset of the first batch appended (or of the duplicate)
    int64_t last_offset = -1;   // last offset appended; -1 when nothing new was written
    size_t bytes = 0;           // bytes written
  };
  // Validates (CRC, size, magic, producer sequence) and appends every batch
  // of a Produce request's records field. On a validation error nothing of
  // this call is appended; on a sequence error batches before it may be.
  AppendOutcome append(std::span<uint8_t> records, int64_t now_ms);

  // Calls `w` once, after the next append, unless `alive` has expired by
  // then. Used by fetch long-polls; expired waiters are pruned as new ones
  // arrive, so an idle partition polled forever does not accumulate them.
  void add_data_waiter(std::weak_ptr<void> alive, std::function<void()> w);

  // Calls `cb(ok)` once every offset <= `offset` is fsynced (or a flush fails).
  void wait_durable(int64_t offset, std::function<void(status)> cb);
  // Called after a flush round (end_flush_round) with its outcome.
  void on_flushed(const status& st);

  // Flushable (group commit through the shard's Flusher).
  bool flush_closed() const override { return closed_; }
  storage::FlushJob begin_flush_round() override { return log_->begin_flush(); }
  void end_flush_round(const storage::FlushJob& job, const status& st) override {
    if (st.ok()) log_->end_flush(job);
    on_flushed(st);
  }

  // ListOffsets by time: the first record with timestamp >= ts, as
  // {offset, timestamp}; {-1, -1} when there is none. Exact for uncompressed
  // batches; for a compressed batch, its base offset and max timestamp.
  std::pair<int64_t, int64_t> offset_for_time(int64_t ts) const;

  // Producer state snapshot at <dir>/producers.snapshot.
  status save_producer_snapshot();
  // Retention; returns segments deleted.
  size_t apply_retention(int64_t now_ms);

  // Flushes, snapshots producer state, closes the log.
  status close();

 private:
  Partition() = default;
  status rebuild_producer_state();

  std::string dir_, topic_;
  int32_t id_ = 0;
  int32_t max_message_bytes_ = 0;
  std::unique_ptr<storage::Log> log_;
  ProducerStateTable producers_;
  struct DataWaiter {
    std::weak_ptr<void> alive;
    std::function<void()> fn;
  };
  std::vector<DataWaiter> data_waiters_;
  std::multimap<int64_t, std::function<void(status)>> durable_waiters_;
  bool closed_ = false;
};

}  // namespace wharf::broker
