// Session: the broker-backed ChannelHandler of one AMQP connection. It turns
// exchange.*, queue.*, basic.*, confirm.* and tx.* commands into calls on the
// routing registry (broker/routing) and the live queues (broker/queue_host),
// with RabbitMQ's semantics.
//
// Threads. The session lives on its connection's shard ("home"). Queues live
// on the shard their name hashes to (QueueHost::shard_of), often another one:
// work for a queue is posted there and its answer posted back home. Every
// callback that crosses shards holds a weak_ptr to the session and checks
// `closed_` before touching it, so a connection may go away at any time.
//
// Ordering. Commands of a channel are handled in wire order. A command that
// needs an answer from another shard (declare, consume, get, purge, delete,
// cancel, ...) makes the channel "busy": later commands of that channel wait
// in its backlog until the answer came back and the reply was sent, so
// replies leave in the order of the requests. basic.publish never waits for
// the queues: its stores are posted in order (Shards keep FIFO order between
// two shards) and confirms come back asynchronously (confirms.h).
//
// Deliveries. A consumer is attached to its queue paused; the queue's shard
// posts each delivery home, where it gets the channel's delivery tag and is
// written to the socket. Unacked deliveries are remembered per channel (tag
// -> queue, queue's own tag) until ack / nack / reject / recover / close.
// When the socket's output backs up, every consumer of the connection is
// paused on its queue's shard and resumed in on_writable(). Consumers of
// stream queues read a Kafka topic through a StreamReader instead
// (stream.cc, stream_reader.h); their unacked deliveries are marked
// kStreamSlot and only give credit back when settled.
//
// Channel-wide prefetch (basic.qos global=true) is one thread-safe
// CreditPool shared by the channel's consumers, whichever shards their
// queues live on.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/channel_handler.h"
#include "amqp/handler/confirms.h"
#include "broker/broker.h"
#include "broker/queue/queue.h"
#include "broker/queue_host.h"
#include "broker/store_fanout.h"
#include "broker/routing/permission_cache.h"
#include "broker/routing/registry.h"
#include "broker/stream_cursor.h"
#include "broker/stream_reader.h"

namespace wharf::amqp {


class Session : public std::enable_shared_from_this<Session> {
 public:
  // Called at home once per destination a publish was stored in (ok) or
  // refused / failed (!ok).
  using PartDone = std::function<void(bool ok)>;

  Session(broker::Broker& broker, ConnectionContext& conn);
  ~Session();

  void on_channel_open(ChannelContext& ch);
  void on_command(ChannelContext& ch, Command&& cmd);
  void on_flow(ChannelContext& ch, bool active);
  void on_channel_close(ChannelContext& ch);
  void on_writable();
  void on_connection_close();

 private:
  // A queue a channel has used: where it lives, for session-wide calls.
  struct QueueSlot {
    std::string name;
    ShardId shard;
  };
  struct Consumer {
    std::string tag;
    uint32_t queue = 0;  // index into Channel::queues
    bool no_ack = false;
    bool attached = false;  // the queue accepted it (id is valid)
    uint32_t since_grant = 0;  // deliveries written since credit was last granted back
    broker::queue::ConsumerId id;
    // A stream (x-queue-type: stream) consumer reads a Kafka topic instead.
    bool stream = false;
    std::shared_ptr<broker::StreamReader> reader;
  };
  // Deliveries a queue may send ahead of what this connection has written.
  static constexpr uint32_t kDeliveryCredit = 8192;
  // Unacked::queue of a stream delivery; qtag is then the reader's own tag.
  static constexpr uint32_t kStreamSlot = UINT32_MAX;
  struct Unacked {
    uint32_t queue = 0;  // index into Channel::queues, or kStreamSlot
    broker::queue::DeliveryTag qtag;
  };
  // A publish, ack or reject held by an open transaction (tx.select).
  struct TxOp {
    enum Kind : uint8_t { kPublish, kAck, kNack } kind = kPublish;
    // kPublish
    std::shared_ptr<const broker::queue::Message> message;
    std::vector<std::string> queues;  // routed at publish time, stored at commit
    std::vector<std::string> topics;  // Kafka topics bound to the exchange
    bool mandatory = false;
    int64_t delay_ms = 0;  // > 0: published with x-delay to an x-delayed-message exchange
    // kAck / kNack
    uint64_t tag = 0;
    bool multiple = false;
    bool requeue = false;
  };
  struct Channel {
    uint16_t id = 0;
    std::weak_ptr<ChannelContext> ctx;
    broker::queue::SessionId session;
    bool busy = false;             // waiting for another shard (see "Ordering")
    bool draining = false;         // resume() is running the backlog
    std::deque<Command> backlog;   // commands that arrived while busy
    bool closing = false;

    std::string last_queue;        // for "" queue names (RabbitMQ)
    std::vector<QueueSlot> queues;
    std::unordered_map<std::string, uint32_t> queue_index;

    uint16_t prefetch = 0;         // basic.qos global=false: for consumers created later
    uint16_t channel_prefetch = 0; // basic.qos global=true
    std::shared_ptr<broker::queue::CreditPool> pool;  // basic.qos global: shared by its consumers (thread-safe)

    std::unordered_map<std::string, Consumer> consumers;  // by consumer tag
    uint64_t next_tag = 1;
    std::map<uint64_t, Unacked> unacked;  // by delivery tag

    bool confirm = false;
    std::shared_ptr<ConfirmTracker> confirms;
    bool tx = false;
    std::vector<TxOp> tx_ops;
  };

  // ---- dispatch (session.cc) ----
  void dispatch(Channel& c, ChannelContext& ch, Command&& cmd);
  void set_busy(Channel& c) { c.busy = true; }
  // The answer came back: run the backlog until something is busy again.
  void resume(uint16_t channel);
  // The open channel `id` of session `sess` (a reused id is another
  // channel), or null.
  Channel* channel_of(uint16_t id);
  Channel* live(uint16_t id, broker::queue::SessionId sess);
  // Runs `work` on shard `s`, then `then(result)` at home if the session and
  // channel `ch` are still open. Inline when `s` is home.
  template <class Work, class Then>
  void on_shard(ShardId s, Work work, Then then);
  uint32_t queue_slot(Channel& c, const std::string& name);
  void fail(ChannelContext& ch, const Error& e, msg::MethodId cause);
  bool permitted(ChannelContext& ch, broker::routing::Perm perm, std::string_view kind, const std::string& name,
                 msg::MethodId cause);
  broker::routing::OwnerToken owner() const;
  // "" -> the channel's last declared queue; 404 when there is none.
  bool resolve_queue(Channel& c, ChannelContext& ch, std::string& name, msg::MethodId cause);

  // ---- exchange.* (exchange_methods.cc) ----
  void exchange_declare(Channel& c, ChannelContext& ch, msg::ExchangeDeclare& m);
  void exchange_delete(Channel& c, ChannelContext& ch, msg::ExchangeDelete& m);
  void exchange_bind(Channel& c, ChannelContext& ch, msg::ExchangeBind& m);
  void exchange_unbind(Channel& c, ChannelContext& ch, msg::ExchangeUnbind& m);

  // ---- queue.* (queue_methods.cc) ----
  void queue_declare(Channel& c, ChannelContext& ch, msg::QueueDeclare& m);
  void queue_bind(Channel& c, ChannelContext& ch, msg::QueueBind& m);
  void queue_unbind(Channel& c, ChannelContext& ch, msg::QueueUnbind& m);
  void queue_purge(Channel& c, ChannelContext& ch, msg::QueuePurge& m);
  void queue_delete(Channel& c, ChannelContext& ch, msg::QueueDelete& m);

  // ---- basic.publish (publish.cc) ----
  void publish(Channel& c, ChannelContext& ch, Command&& cmd);

  // Stores `m` in each of `queues` and `topics`, each on its own shard.
  // Hands a publish with x-delay to the broker's delay engine; part_done
  // (may be null) gets whether it was accepted (publish.cc).
  void schedule_delayed(const broker::queue::Message& m, int64_t delay_ms, PartDone part_done);
  void store(Channel& c, const std::shared_ptr<const broker::queue::Message>& m,
             const std::vector<std::string>& queues, const std::vector<std::string>& topics, PartDone part_done);
  // basic.return 312 NO_ROUTE of an unroutable mandatory message.
  void send_return(ChannelContext& ch, const broker::queue::Message& m);

  // ---- streams: x-queue-type stream (stream.cc) ----
  // queue.declare of a stream queue (already in the registry): makes sure
  // its Kafka topic exists (not when passive), then answers declare-ok.
  void stream_declared(Channel& c, ChannelContext& ch, const broker::routing::QueueDef& def, bool nowait,
                       bool passive);
  // basic.consume on a stream queue (x-stream-offset: first, last, next, an
  // offset, a timestamp); manual acks give credit back (settle.cc).
  void stream_consume(Channel& c, ChannelContext& ch, const broker::routing::QueueDef& def, msg::BasicConsume& m,
                      const std::string& tag);
  // A stream consumer's records, read on their partitions' shards.
  void stream_deliver(uint16_t channel, broker::queue::SessionId sess, const std::string& tag,
                      std::vector<broker::StreamRecord>&& records);
  // Its topic went away or could not be read: cancelled, as a deleted queue's.
  void stream_gone(uint16_t channel, broker::queue::SessionId sess, const std::string& tag, const Error& e);
  void stream_pause(Channel& c, Consumer& k, bool paused);
  void stream_cancel(Channel& c, Consumer& k);
  // Stream deliveries acked, rejected or recovered (their reader tags).
  void stream_settled(Channel& c, const std::vector<broker::queue::DeliveryTag>& tags);

  // ---- consumers and deliveries (consume.cc) ----
  void basic_qos(Channel& c, ChannelContext& ch, const msg::BasicQos& m);
  void basic_consume(Channel& c, ChannelContext& ch, msg::BasicConsume& m);
  void basic_cancel(Channel& c, ChannelContext& ch, const msg::BasicCancel& m);
  void deliver(uint16_t channel, broker::queue::SessionId sess, const std::string& tag, const std::string& queue,
               broker::queue::Delivery&& d);
  void queue_cancelled(uint16_t channel, broker::queue::SessionId sess, const std::string& tag);
  void pause_consumers(bool paused);
  void set_consumer_paused(Channel& c, Consumer& k, bool paused);

  // ---- settlement and basic.get (settle.cc) ----
  void basic_ack(Channel& c, ChannelContext& ch, uint64_t tag, bool multiple, msg::MethodId cause);
  void basic_reject(Channel& c, ChannelContext& ch, uint64_t tag, bool multiple, bool requeue, msg::MethodId cause);
  // Applies an ack (requeue unused) or a reject to the channel's unacked
  // deliveries; false (and the channel failed) for an unknown tag.
  bool settle(Channel& c, ChannelContext& ch, bool ack, uint64_t tag, bool multiple, bool requeue,
              msg::MethodId cause);
  void basic_recover(Channel& c, ChannelContext& ch, bool reply);
  void basic_get(Channel& c, ChannelContext& ch, msg::BasicGet& m);

  // ---- confirm.select, tx.* (tx.cc) ----
  void confirm_select(Channel& c, ChannelContext& ch, const msg::ConfirmSelect& m);
  void tx_select(Channel& c, ChannelContext& ch);
  void tx_commit(Channel& c, ChannelContext& ch);
  void tx_rollback(Channel& c, ChannelContext& ch);

  // Closes the channel's use of its queues: requeues its unacked deliveries
  // and removes its consumers, on each queue's shard.
  void release_channel(Channel& c);

  broker::Broker& broker_;
  broker::Shards& shards_;
  broker::QueueHost& host_;
  broker::routing::Registry& registry_;
  ConnectionContext& conn_;
  ShardId home_;
  std::string vhost_;
  std::string user_;
  bool closed_ = false;
  bool output_paused_ = false;  // consumers paused for output backpressure
  std::unordered_map<uint16_t, std::unique_ptr<Channel>> channels_;
  // Stores the routed messages on their queues' shards (credit flow included).
  broker::StoreFanout fanout_;
  broker::routing::RouteResult route_;
  std::vector<std::string> pub_queues_, pub_topics_;  // publish() scratch, capacity kept
  broker::routing::PermissionCache perms_;
};

// The ChannelHandlerFactory of the broker-backed front end.
ChannelHandlerFactory broker_handler_factory(broker::Broker& broker);

template <class Work, class Then>
void Session::on_shard(ShardId s, Work work, Then then) {
  if (s == home_) {
    then(work());
    return;
  }
  std::weak_ptr<Session> weak = weak_from_this();
  shards_.call(s, std::move(work), [weak, then = std::move(then)](auto r) mutable {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    then(std::move(r));
  });
}

}  // namespace wharf::amqp
