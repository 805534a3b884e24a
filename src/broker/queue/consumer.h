// Consumers of a queue: identities, options, flow control ("credit") and the
// Delivery handed to front ends.
//
// Flow control. A consumer may receive a message only while all of these hold:
//   - it is not paused (set_paused: the front end's socket is full, AMQP
//     channel.flow, ...);
//   - prefetch == 0 or its unacked deliveries < prefetch (basic.qos per
//     consumer, STOMP activemq.prefetchSize);
//   - its CreditPool, if any, has room (basic.qos global: one budget shared by
//     the consumers of a channel);
//   - its credit, if limited, is > 0 (explicit credit the front end grants
//     with Queue::add_credit, AMQP 1.0 / pull style).
// Settling a delivery (ack, reject, requeue) returns its prefetch and pool
// slot; credit is only ever granted by the front end.
//
// Thread rules: everything here runs on the shard owning the queue. A
// CreditPool may be shared by consumers of several queues only if all of them
// live on that one shard.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "broker/queue/message.h"
#include "broker/selector/selector.h"

namespace wharf::broker::queue {

// Chosen by the front end: one per AMQP channel or STOMP connection that
// uses the queue. Unacked deliveries belong to a session (a consumer's
// deliveries stay with its channel after basic.cancel, as in AMQP) and are
// requeued when the session closes. 0 is a valid id.
using SessionId = StrongInt<struct SessionTag, uint64_t>;
// Assigned by the queue on attach; never reused within a queue's lifetime.
using ConsumerId = StrongInt<struct ConsumerTag, uint64_t>;
// Identifies one delivery within a queue: assigned in delivery order,
// starting at 1, never reused while the queue is open (not persisted: after a
// restart sessions are new). Front ends map their channel-wide tags to
// (queue, DeliveryTag).
using DeliveryTag = StrongInt<struct DeliveryTagTag, uint64_t>;

// A message handed to a front end.
struct Delivery {
  DeliveryTag tag;           // 0 when settled on delivery (no-ack consumers, get with no_ack)
  ConsumerId consumer;       // 0 for get()
  bool redelivered = false;  // may have been delivered before (requeued, or unacked at a restart)
  uint32_t delivery_count = 1;  // deliveries including this one (restarts count as one)
  int64_t enqueued_at_ms = 0;   // when the queue accepted it
  uint8_t level = 0;            // priority level it was stored at
  int64_t offset = 0;           // its offset in that level's log; -1: handed to a no-ack consumer unstored
  Message message;              // body aliases a shared read buffer (no copy)
};

// Called for each delivery pushed to a consumer, on the queue's shard. It may
// call back into the queue (ack, cancel, ...); the dispatch loop re-checks
// its state after every call.
using DeliverFn = std::function<void(Delivery&&)>;
// Called once when the queue cancels the consumer (queue deleted), so the
// front end can send basic.cancel (consumer_cancel_notify) or an ERROR frame.
using CancelFn = std::function<void()>;

// A prefetch budget shared by several consumers (AMQP basic.qos global=true).
// Thread-safe: the consumers of one AMQP channel may read queues on several
// shards, and they share one exact budget. A slot is taken (try_acquire)
// before a message is handed out and given back when it is settled.
struct CreditPool {
  explicit CreditPool(uint32_t limit_ = 0) : limit(limit_) {}
  std::atomic<uint32_t> limit{0};   // max unacked deliveries over all its consumers; 0 = unlimited
  std::atomic<uint32_t> in_use{0};  // maintained by the queues
  bool has_room() const {
    uint32_t l = limit.load(std::memory_order_relaxed);
    return l == 0 || in_use.load(std::memory_order_relaxed) < l;
  }
  // Takes a slot if one is free.
  bool try_acquire();
  // Raises the limit (basic.qos again): wakes the waiting queues.
  void set_limit(uint32_t l);

  // Queues blocked on this pool register here (once per `who`); they are
  // woken, once, when a slot frees. `wake` may run on any thread (the one
  // settling a delivery): it must post to the queue's own shard. Internal to
  // the queue engine.
  void wait(const void* who, std::function<void()> wake);
  void release_one();

 private:
  void wake_all();
  std::mutex mu_;
  std::vector<std::pair<const void*, std::function<void()>>> waiters_;  // GUARDED_BY(mu_)
};

struct ConsumerOptions {
  SessionId session;
  int32_t priority = 0;       // x-priority: higher is served first while it can take messages
  bool exclusive = false;     // only consumer of the queue (attach fails if others exist)
  bool no_ack = false;        // deliveries are settled as they are handed out
  uint32_t prefetch = 0;      // max unacked deliveries of this consumer; 0 = unlimited
  std::shared_ptr<CreditPool> pool;  // shared budget, or null
  std::optional<uint64_t> credit;    // explicit credit; nullopt = not credit-limited
  bool paused = false;        // attach paused (e.g. until consume-ok is written)
  // JMS message selector (STOMP `selector`, AMQP `x-selector`): only
  // messages it matches are delivered to this consumer; the others stay
  // ready, in order, for other consumers (queue.h, "Selectors and groups").
  // Null: every message. Shared and immutable.
  std::shared_ptr<const selector::Selector> selector;
  DeliverFn deliver;          // required
  CancelFn on_cancel;         // optional
};

}  // namespace wharf::broker::queue
