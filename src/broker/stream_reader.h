// StreamReader: one consumer (AMQP or STOMP) of a stream queue, reading the
// Kafka topic of the same name (every partition of it) with RabbitMQ's stream consumer
// semantics: a credit of `prefetch` unacknowledged deliveries; an ack, nack,
// reject or recover of a delivery gives its credit back (nothing is
// requeued: a stream is not consumed, only read).
//
// Threads. The reader lives on its connection's shard ("home"); each
// partition may only be touched on its own shard (Broker::shard_of). open()
// first resolves the start offset of every partition there. Reads are
// polls: home posts {offset, how many} to the partition's shard, a
// StreamCursor there reads and decodes records, and the answer is posted
// back home, where `sink` hands them to the channel. At most one poll per
// partition is in flight, so a partition's records reach home in offset
// order and its cursor is used by one thread at a time. A poll that finds
// nothing new leaves a data waiter on the partition (Partition::
// add_data_waiter) that tells home when something was appended; the waiter
// holds only a weak token, so a stopped reader leaves nothing that fires.
//
// Credit. available = prefetch - unacked - reserved, where `reserved` is
// what the polls in flight may still return; it is shared out among the
// partitions that may have data (round robin, at most kMaxPerPoll each), so
// an idle partition never holds credit a busy one could use.
//
// Memory. Per partition one StreamCursor window (128 KiB) while records
// are being read, none once caught up; plus the records handed over until
// the channel wrote them.
//
// Lifetime. Owned (shared_ptr) by the session's Consumer; callbacks hold
// weak_ptrs and lock them only at home, so the reader is destroyed at home.
// After stop() the sink is never called again.
//
// Thread rules: every public method on the home shard.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/stream_cursor.h"

namespace wharf::broker {

class Broker;

class StreamReader : public std::enable_shared_from_this<StreamReader> {
 public:
  // Records of one partition, in offset order, at most the credit free.
  using Sink = std::function<void(int32_t partition, std::vector<StreamRecord>&&)>;
  // The topic or one of its partitions went away, or a read failed; the
  // reader has stopped.
  using Gone = std::function<void(const Error&)>;

  // Polls at most this many records at a time from one partition, so one
  // poll's work on a shard stays short whatever the prefetch.
  static constexpr uint32_t kMaxPerPoll = 256;

  StreamReader(Broker& broker, std::string topic, int32_t partitions, StreamStart start, uint32_t prefetch,
               Sink sink, Gone gone);
  ~StreamReader();

  // Resolves the start position in every partition (on their shards) and
  // then calls `ready` at home: ok, or kNotFound when a partition does not
  // exist. Called once, before start(). Resolving first makes "next" exact:
  // whatever is appended after `ready` ran is read.
  void open(std::function<void(status)> ready);
  // Starts reading (paused: only once set_paused(false)). REQUIRES: open()
  // reported ok.
  void start(bool paused);
  // Output backpressure / channel.flow: no new polls while paused; records
  // already read are still handed over (at most the credit).
  void set_paused(bool paused);
  // The session sent a record with channel delivery tag `tag`: it holds one
  // credit until settled.
  void delivered(uint64_t tag) { unacked_.insert(tag); }
  // Delivery tags acked / rejected / recovered on the channel; the ones that
  // are this reader's give their credit back. Returns how many were.
  size_t settle(const std::vector<uint64_t>& tags);
  void stop();

  const std::string& topic() const { return topic_; }
  size_t unacked() const { return unacked_.size(); }

 private:
  struct Part {
    int32_t id = 0;
    ShardId shard;
    int64_t next = 0;  // the next offset to read (resolved by open())
    bool in_flight = false;
    bool readable = true;  // may have data: false after a poll came back caught up, until woken
    uint32_t asked = 0;    // what the poll in flight may return
    std::shared_ptr<StreamCursor> cursor;  // used on the partition's shard only
    std::shared_ptr<int> alive;  // data waiters hold it weakly
  };
  struct Reply {
    status st;
    int64_t next = 0;
    bool caught_up = false;  // nothing more to read: a data waiter is armed
    std::vector<StreamRecord> records;
  };

  void on_resolved(int32_t part, result<int64_t> r);
  void pump();
  void poll(Part& p, uint32_t max);
  void on_reply(int32_t part, Reply&& r);
  void on_data(int32_t part);
  void fail(const Error& e);

  Broker& broker_;
  std::string topic_;
  StreamStart start_;
  uint32_t prefetch_;
  Sink sink_;
  Gone gone_;
  ShardId home_;
  std::vector<Part> parts_;
  std::function<void(status)> ready_;  // open() in progress
  size_t unresolved_ = 0;
  status open_error_;
  std::unordered_set<uint64_t> unacked_;
  uint32_t reserved_ = 0;
  size_t rr_ = 0;  // round robin start among partitions
  bool started_ = false, paused_ = true, stopped_ = false;
};

}  // namespace wharf::broker
