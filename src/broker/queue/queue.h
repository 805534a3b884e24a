// Queue: a protocol-neutral message queue (RabbitMQ classic queue semantics,
// also serving STOMP/JMS) on Wharf's log storage.
//
// Model. A queue is one storage::Log per priority level (a non-priority
// queue has one level), plus per level a cursor and settled ranges (see
// level.h), plus in memory only the deliveries not yet settled (unacked) and
// the messages handed back (requeued). Message bodies stay in the logs and
// are read through a bounded window (read_cache.h): a backlog of any length
// costs the same memory as an empty queue. Settled ranges and cursors are
// persisted in <dir>/acks.log (ack_store.h), so a restart redelivers exactly
// the unsettled messages (redelivered=true) and nothing settled. Segments
// whose messages are all settled are deleted.
//
// Directory: <dir>/p000/ .. <dir>/p255/ (one Log per level, created on first
// use), <dir>/acks.log (durable queues only). See docs/storage-format.md.
//
// Ordering. Within a level, messages are delivered in publish order; a
// requeued message goes back to its original place (ahead of later ones).
// Higher levels are delivered first. Dead-lettered, expired and dropped
// messages count as settled.
//
// Selectors and groups (JMS, ActiveMQ's model). A consumer with a selector
// (ConsumerOptions::selector) receives only messages it matches. A message
// whose group header (QueueConfig::group_header, JMSXGroupID) is a string
// belongs to that group: the first consumer to take a message of an
// unowned group (the next one in round-robin order that may take it) owns
// the group, and every later message of the group goes to the owner only,
// until the owner is cancelled or its session closes (the group is then
// unowned and moves on with its next message), or a message with
// JMSXGroupSeq = -1 is delivered (closes the group). The delivery that
// gives a consumer a group carries the header JMSXGroupFirstForConsumer=true.
// A group whose owner cannot take more (prefetch, credit, paused) waits
// while other groups and ungrouped messages flow to other consumers.
//   While any consumer has a selector or any group is owned ("filtering"), a
// consumer scans each level, highest first: first the ready messages behind
// the cursor (Level::requeued, in offset order), then from the cursor on; it
// takes the first message it may take. A message it may not take at the cursor
// is passed over: the cursor moves past it and it joins `requeued` as never
// delivered, still ready and in its place, so the next consumer that may take
// it gets it first (ordering among the messages one consumer may take is
// kept), message_count() and ready_bytes() do not change, and a consumer
// attaching later finds it. Passing over stops while the ready messages behind
// the cursors number pass_over_limit or weigh pass_over_limit_bytes
// (ActiveMQ's maxPageSize plays the same role): a consumer then sees only what
// is behind the cursors plus the message at each cursor, and the messages past
// it wait until the ones held behind are taken, purged or expire. This bounds
// memory (one map entry per message held) and the work of one scan (at most
// the limit, plus requeued deliveries); each consumer also remembers how far
// behind the cursor it found nothing (Consumer::refused_below), so it examines
// a held message about once, not once per delivery. Held messages are read
// through a second window per level (Level::behind). A restart needs nothing
// extra: a passed-over message is an unsettled offset below the cursor, which
// recovery makes ready again (it then counts as delivered once:
// redelivered=true, like every message unsettled at a restart). Without
// selectors and owned groups none of this runs: consumers take the head as
// before, at the cost of one header lookup per delivery (none when
// group_header is empty). Not covered: get() (basic.get) takes the head
// whatever its group; the hand-off of unstored messages (hand_off()) is
// skipped for grouped messages and for a consumer whose selector does not
// match. Memory: one entry per owned group; closed or orphaned ones go, and
// past max_groups the least recently delivered group loses its owner.
//
// Durability. Durable queue + persistent message (delivery_mode 2): the
// publish's ConfirmFn runs once a group-committed fdatasync covers the
// message. Otherwise it runs before publish() returns. Acks and cursors are
// written to the page cache at the end of each event-loop turn (kill -9 loses
// nothing acked) and fdatasync'ed with the next flush round (a power cut may
// bring back acks of the last flush interval). A transient queue's directory
// is wiped when it is opened: it never survives a restart.
//
// Thread rules. A Queue is owned by one shard; every method, and every
// callback it makes (deliveries, confirms, dead letters, cancels, deferred
// work), runs on that shard's thread. No locks. Callbacks may call back into
// the queue. Only Log::run_flush on a FlushJob from begin_flush_round() runs
// elsewhere (the shard's flusher thread).
//
// Lifetime. Held by shared_ptr (flush rounds and deferred work hold weak or
// strong references). After close() or remove() return, every call fails
// with kNotFound and no callback fires any more (remove() itself calls the
// consumers' on_cancel and fails pending confirms).
//
// Wiring (what the broker does for each queue, on the owning shard):
//   hooks.defer         = [&io](auto fn) { asio::post(io, std::move(fn)); };
//   hooks.request_flush = [&flusher](auto& f, size_t b, bool urgent) { flusher.dirty(f, b, urgent); };
//   hooks.wake_at       = arm a steady_timer for that time; on expiry call q->expire();
//   hooks.dead_letter   = hand the DeadLetter to the routing layer (it may
//                         live on another shard: the Message owns or shares its bytes);
// and calls close() at shutdown (after the Flusher's last round).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "broker/flushable.h"
#include "broker/queue/ack_store.h"
#include "broker/queue/consumer.h"
#include "broker/queue/level.h"
#include "broker/queue/message.h"
#include "broker/queue/message_codec.h"
#include "storage/env.h"
#include "storage/log.h"

namespace wharf::broker::queue {

// x-overflow.
enum class Overflow : uint8_t {
  kDropHead,          // drop (dead-letter: maxlen) ready messages from the head: the ones
                      // that would be delivered next (highest priority first)
  kRejectPublish,     // refuse the new message (publish() says kRejected)
  kRejectPublishDlx,  // refuse it and dead-letter it (maxlen)
};

// Segments of 64 MiB (a fully consumed queue keeps at most one per level),
// no time or size retention: queues delete by acknowledgement only.
storage::LogConfig default_queue_log_config();

struct QueueConfig {
  std::string name;                             // for x-death and logs
  bool durable = true;
  uint8_t max_priority = 0;                     // x-max-priority; 0 = not a priority queue
  std::optional<int64_t> message_ttl_ms;        // x-message-ttl, >= 0
  std::optional<int64_t> max_length;            // x-max-length (ready messages), >= 0
  std::optional<int64_t> max_length_bytes;      // x-max-length-bytes (ready body bytes), >= 0
  Overflow overflow = Overflow::kDropHead;      // x-overflow
  std::optional<std::string> dead_letter_exchange;     // x-dead-letter-exchange; unset = discard
  std::optional<std::string> dead_letter_routing_key;  // x-dead-letter-routing-key
  std::optional<uint32_t> delivery_limit;       // x-delivery-limit: redeliveries allowed (N+1 deliveries)
  bool single_active_consumer = false;          // x-single-active-consumer
  // Message groups: the header whose string value names a message's group
  // (ActiveMQ's JMSXGroupID); empty = no groups.
  std::string group_header = "JMSXGroupID";
  // Selectors and groups pass messages over while fewer than this many ready
  // messages (and fewer than this many of their body bytes) are held behind
  // the cursors (see above). ActiveMQ's maxPageSize is 200.
  uint32_t pass_over_limit = 2000;
  uint64_t pass_over_limit_bytes = 16ull << 20;
  // Groups with an owner kept at most; past it the group delivered to least
  // recently loses its owner (its next message is assigned afresh), as with
  // ActiveMQ's cached group map.
  size_t max_groups = 65536;
  storage::LogConfig log = default_queue_log_config();
  size_t read_window_bytes = 64 * 1024;         // per-level read-ahead buffer
  // acks.log joins a flush round that carries confirms at most this often
  // (ms): confirms then cost one fdatasync, not two. Rounds without confirms
  // always sync it.
  int64_t ack_sync_interval_ms = 100;
  // Once every message of a level is settled and its active segment holds
  // at least this much, the segment is rolled and deleted, so an idle,
  // consumed queue keeps at most this much on disk per level.
  uint64_t roll_consumed_bytes = 1u << 20;
};

// A message leaving the queue for a dead-letter exchange. The queue has
// already settled it (at-most-once, like RabbitMQ's classic queues): the
// routing layer republishes `message` to `exchange` with `routing_key`.
struct DeadLetter {
  Message message;          // deaths.front() describes this death
  DeathReason reason = DeathReason::kRejected;
  std::string queue;        // this queue
  std::string exchange;     // x-dead-letter-exchange
  std::string routing_key;  // x-dead-letter-routing-key, else the message's own
};
using DeadLetterFn = std::function<void(DeadLetter&&)>;

struct QueueHooks {
  storage::Env* env = nullptr;           // null = Env::posix()
  std::function<int64_t()> now_ms;       // wall clock, ms since the epoch; null = system clock
  // Runs `fn` later on this shard (asio::post). Null: deferred work (writing
  // acks, dispatching) runs at the end of each call instead.
  std::function<void(std::function<void()>)> defer;
  // Asks for a group-commit round covering this queue (Flusher::dirty);
  // urgent when a confirm waits on it. Null: the owner runs rounds itself
  // (flush_now()).
  std::function<void(const std::shared_ptr<Flushable>&, size_t bytes, bool urgent)> request_flush;
  // Receives dead letters (only when dead_letter_exchange is set).
  DeadLetterFn dead_letter;
  // Asks the owner to call expire() at (or soon after) `at_ms`; a later call
  // with an earlier time supersedes. Null: expiry happens only as a side
  // effect of other calls, or when the owner polls expire().
  std::function<void(int64_t at_ms)> wake_at;
};

enum class PublishResult : uint8_t {
  kAccepted,  // stored; the ConfirmFn will run
  kRejected,  // refused by x-overflow reject-publish(-dlx); the ConfirmFn will not run
};

class Queue : public Flushable, public std::enable_shared_from_this<Queue> {
 public:
  // Opens or creates the queue in `dir` and recovers its state. Durable: the
  // logs and acks.log are recovered; transient: the directory is wiped.
  static result<std::shared_ptr<Queue>> open(std::string dir, QueueConfig config, QueueHooks hooks = {});
  ~Queue() override;  // no flush: dropping an open queue is a crash (tests rely on it); call close()

  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  const QueueConfig& config() const { return cfg_; }
  const std::string& name() const { return cfg_.name; }
  const std::string& dir() const { return dir_; }
  bool closed() const { return closed_; }

  // ---- publishing ----

  // Stores `m` (priority level = min(props.priority or 0, max_priority)),
  // stamped now. `on_confirm`, if set, runs exactly once iff the result is
  // kAccepted: with ok once the message is as durable as this queue promises
  // (possibly before publish returns), or with the error if the flush failed
  // or the queue was closed or removed first. Errors: kNotFound (closed), kIo.
  result<PublishResult> publish(const Message& m, ConfirmFn on_confirm = {});

  // ---- consumers ----

  // Adds a consumer; deliveries start at once if it can take any. Errors:
  // kResourceLocked (an exclusive consumer exists, or opts.exclusive and any
  // consumer exists), kInvalidArgument (no deliver function).
  result<ConsumerId> attach(ConsumerOptions opts);
  // Removes a consumer. Its unacked deliveries stay with its session (AMQP
  // basic.cancel) unless `requeue_unacked` (STOMP UNSUBSCRIBE). on_cancel is
  // not called. kNotFound for an unknown id.
  status cancel(ConsumerId id, bool requeue_unacked = false);
  // Flow control (see consumer.h); a change that opens room dispatches.
  status set_paused(ConsumerId id, bool paused);
  status add_credit(ConsumerId id, uint64_t n);
  status set_prefetch(ConsumerId id, uint32_t prefetch);
  // Pushes up to `max` ready messages to this consumer now (within its flow
  // limits) and returns how many; for front ends that pull.
  result<size_t> deliver(ConsumerId id, size_t max);
  // Single-active-consumer: whether `id` is the one receiving. The first
  // consumer attached becomes active; when the active one goes, the
  // highest-priority, earliest-attached remaining one takes over. Always
  // true for any attached consumer when the mode is off.
  bool is_active(ConsumerId id) const;

  // basic.get: the next ready message, or nullopt when none. With no_ack it
  // is settled at once (tag 0); else it is unacked in `session` (consumer 0).
  result<std::optional<Delivery>> get(SessionId session, bool no_ack);

  // ---- settlement ----
  // `multiple`: every delivery of `session` with tag <= `tag` (tag 0: all of
  // them); otherwise exactly `tag`, kNotFound when the session has no such
  // delivery. Returns how many deliveries were settled.

  result<size_t> ack(SessionId session, DeliveryTag tag, bool multiple);
  // nack / reject. requeue: back to its original place (redelivered=true),
  // except that with a delivery_limit of N a message returned after its
  // (N+1)-th delivery is dead-lettered (delivery_limit) instead. Without
  // requeue: dead-lettered (rejected) or, with no dead-letter exchange,
  // discarded.
  result<size_t> reject(SessionId session, DeliveryTag tag, bool multiple, bool requeue);
  // basic.recover(requeue=true): requeues every unacked delivery of `session`.
  size_t recover(SessionId session);
  // Channel / connection closed: requeues every unacked delivery of
  // `session` and removes its consumers (on_cancel is not called).
  size_t close_session(SessionId session);

  // ---- expiry ----

  // Drops or dead-letters (expired) every ready message at the head of a
  // level whose TTL has passed (RabbitMQ expires at the head only). Returns
  // how many.
  size_t expire();
  // When the earliest head message expires (ms since epoch), if any.
  std::optional<int64_t> next_expiry();

  // ---- administration ----

  // Settles every ready message (not unacked ones); returns how many.
  result<uint64_t> purge();
  // Deletes the queue. kPreconditionFailed when if_unused and it has
  // consumers, or if_empty and it has ready messages (nothing changes then).
  // Else calls every consumer's on_cancel, fails pending confirms with
  // kNotFound, deletes the directory and returns the ready count it had.
  result<uint64_t> remove(bool if_unused, bool if_empty);
  // Writes and fdatasyncs everything, completes pending confirms, closes
  // the logs. Blocks on fdatasync (shutdown).
  status close();

  uint64_t message_count() const;  // ready (not unacked) messages
  uint64_t unacked_count() const { return unacked_total_; }
  size_t consumer_count() const { return order_.size(); }
  uint64_t ready_bytes() const { return ready_bytes_; }  // body bytes of ready messages (see queue.cc)

  // Per-message bookkeeping held in memory: unacked deliveries + ready
  // messages behind the cursors (requeued, or passed over: at most
  // pass_over_limit of those) + settled ranges + pending confirms.
  // O(unacked + pass_over_limit), never O(backlog).
  size_t tracked_entries() const;
  // Bytes held by the levels' read windows (bounded by levels x 2 windows).
  size_t buffered_bytes() const;
  // Total bytes of the level logs on disk.
  uint64_t disk_bytes() const;

  // ---- group commit (Flushable) ----
  bool flush_closed() const override { return closed_; }
  storage::FlushJob begin_flush_round() override;
  void end_flush_round(const storage::FlushJob& job, const status& st) override;

 private:
  struct Consumer {
    ConsumerId id;
    ConsumerOptions opts;
    uint64_t seq = 0;        // attach order
    uint32_t unacked = 0;
    bool cancelled = false;  // kept only until its unacked deliveries settle
    uint64_t idle_pass = 0;  // the dispatch pass in which it found nothing it may take
    // Filtering scans resume where the last one ended: while refused_gen ==
    // the queue's refusal_gen_, every ready message of level i behind the
    // cursor with offset < refused_below[i] was refused to this consumer.
    // A refusal by selector is final; one by another consumer's group lasts
    // until that group is released, which bumps refusal_gen_ (all marks
    // reset). A requeue lowers the marks to the message it puts back.
    uint64_t refused_gen = 0;
    std::vector<int64_t> refused_below;
  };
  struct Unacked {
    int64_t offset;
    ConsumerId consumer;
    uint32_t body_size;
    uint32_t delivery_count;
    uint8_t level;
  };
  using SessionDeliveries = std::map<uint64_t, Unacked>;  // by tag

  // Where the next ready message of a level is.
  struct Head {
    Level* level = nullptr;
    int64_t offset = 0;
    bool requeued = false;          // behind the cursor (Level::requeued)
    uint32_t prior_deliveries = 0;  // 0 for a passed-over message
  };
  struct Taken {
    Head head;
    Message message;
    int64_t enqueued_at_ms = 0;
  };

  enum class Select { kOne, kUpTo, kAll };
  using Action = std::function<void(const Unacked&)>;

  Queue(std::string dir, QueueConfig cfg, QueueHooks hooks);
  status recover();
  status open_level(uint8_t index);
  result<Level*> level_for(uint8_t index, bool create);
  int64_t now() const;
  uint8_t level_of(const Message& m) const;

  // x-max-length / x-max-length-bytes: at the limit (reject-publish) or past it (drop-head).
  bool full() const;
  bool over() const;

  Head head_of(Level& lv) const;
  // The next ready message of `lv`, settling on the way the ones that are
  // missing, unreadable or expired (dead-lettering the expired ones).
  // nullopt when the level has nothing ready. Errors only for kIo.
  result<std::optional<Taken>> peek_level(Level& lv);
  // Reads the message at `h` into `out` (which must be empty); settles it
  // (as peek_level does) and leaves `out` empty when it is missing,
  // unreadable or expired. Errors only for kIo.
  status examine(Level& lv, const Head& h, std::optional<Taken>& out);
  // Filtering: the first ready message `c` may take (see queue.h, "Selectors
  // and groups"), passing over the others at the cursors within the limits.
  result<std::optional<Taken>> take_for(Consumer& c);
  bool filtering() const { return selector_consumers_ > 0 || !groups_.empty(); }
  bool may_take(const Consumer& c, const Message& m) const;
  // Room to pass over one more message. `resume`: room for a quarter of
  // the limits (see dispatch()).
  bool may_pass_over(bool resume = false) const;
  void pass_over(Level& lv, uint64_t body_size);
  // The message's group id, or null when ungrouped.
  const std::string* group_of(const Message& m) const;
  // Records `c` as the owner of m's group if it has none (true then: the
  // first message of the group for `c`), and closes the group on
  // JMSXGroupSeq = -1.
  bool claim_group(const Consumer& c, const Message& m);
  // peek_level over the levels, highest first.
  result<std::optional<Taken>> take_next();
  std::optional<int64_t> expiry_of(const Message& m, int64_t enqueued_at_ms) const;
  void remove_from_ready(const Head& h, uint64_t body_size);
  // Removes the message from ready and records it as delivered (unacked in
  // `session`, or settled when no_ack).
  Delivery hand_out(Taken&& t, SessionId session, Consumer* c, bool no_ack);

  void settle(Level& lv, int64_t offset);
  void settle_range(Level& lv, int64_t from, int64_t to);
  bool dead_lettering() const;
  void dead_letter(Message&& m, DeathReason reason);
  void dead_letter_at(Level& lv, int64_t offset, DeathReason reason);
  void release_slot(ConsumerId id);
  void requeue(const Unacked& u);
  size_t settle_deliveries(SessionId session, DeliveryTag tag, Select sel, const Action& act, status* err);

  result<std::shared_ptr<Consumer>> live_consumer(ConsumerId id);
  bool eligible(Consumer& c);
  std::shared_ptr<Consumer> pick_consumer();
  // Filtering: the first eligible consumer not yet idle in this pass.
  std::shared_ptr<Consumer> pick_consumer_in_pass();
  void rotate(const Consumer& c);  // to the back of its priority group
  void choose_active();
  void detach(std::shared_ptr<Consumer> c, bool requeue_unacked);
  bool push_one(const std::shared_ptr<Consumer>& c);
  // Delivers `m` to a waiting no-ack consumer without storing it, when that
  // loses nothing (see queue.cc); false when it must be stored.
  bool hand_off(const Message& m);
  void wait_for_pool(CreditPool& pool);

  void schedule();  // run tick() at the end of this turn (hooks.defer) or now
  void tick();      // dispatch, expire, delete consumed segments, write acks
  void dispatch();
  size_t expire_heads();
  void arm_expiry();
  void collect_garbage();
  void persist();
  void fail_confirms(const status& st);

  std::string dir_;
  QueueConfig cfg_;
  QueueHooks hooks_;
  storage::Env* env_;
  std::vector<std::unique_ptr<Level>> levels_;  // index = level; null until used
  std::unique_ptr<AckStore> acks_;              // durable queues only
  BatchEncoder encoder_;
  std::vector<uint8_t> batch_;                  // publish scratch

  std::unordered_map<uint64_t, std::shared_ptr<Consumer>> consumers_;  // by id, incl. cancelled ones with unacked
  std::vector<std::shared_ptr<Consumer>> order_;  // attached: priority desc, then round-robin order
  uint64_t next_consumer_ = 1, next_seq_ = 0;
  ConsumerId active_;                            // single-active-consumer; 0 = none
  bool exclusive_ = false;

  std::unordered_map<uint64_t, SessionDeliveries> sessions_;  // by SessionId
  uint64_t next_tag_ = 1;
  uint64_t unacked_total_ = 0;
  uint64_t ready_bytes_ = 0;
  uint64_t behind_bytes_ = 0;       // sum of Behind::bytes over the levels
  size_t selector_consumers_ = 0;   // attached consumers with a selector
  // Message groups with an owner (an attached consumer), and their order of
  // last delivery (front: most recent) for evicting past max_groups.
  struct GroupOwner {
    ConsumerId owner;
    std::list<const std::string*>::iterator lru;  // points at its own key
  };
  std::unordered_map<std::string, GroupOwner> groups_;
  std::list<const std::string*> group_lru_;
  uint64_t pass_ = 0;               // dispatch passes so far
  bool pass_over_full_ = false;     // a scan stopped at the pass-over limits
  uint64_t refusal_gen_ = 1;        // see Consumer::refused_below
  bool expiring_possible_ = false;  // a ready message may carry an expiration
  int64_t wake_requested_ = -1;

  int64_t last_ack_sync_ = std::numeric_limits<int64_t>::min();  // now() of the last round syncing acks.log
  bool ack_sync_deferred_ = false;  // a round left acks.log out: ask for another
  uint64_t expired_ = 0;  // messages expired so far (expire() reports the difference)

  bool closed_ = false;
  bool tick_scheduled_ = false;
  bool in_tick_ = false, tick_again_ = false;
  bool dispatching_ = false, redispatch_ = false;
  bool gc_due_ = false;
};

}  // namespace wharf::broker::queue
