// Session: one STOMP connection (1.0, 1.1 or 1.2) on the broker's queues and
// routing registry, with ActiveMQ's and RabbitMQ's STOMP semantics.
// docs/stomp-protocol.md describes what clients see.
//
// Threads. The session lives on its connection's shard ("home"). Queues live
// on the shard their name hashes to (QueueHost::shard_of): work for a queue
// is posted there and answers come back home. Callbacks that cross shards
// hold a weak_ptr and check `closed_` before touching the session.
//
// Ordering. Frames are handled in wire order. A frame that needs an answer
// from another shard (SUBSCRIBE attaching its consumer, UNSUBSCRIBE of a
// durable subscription, DISCONNECT's barrier) makes the session "busy":
// later frames wait in a backlog until the answer came back. SEND never
// waits: its stores are posted in order (StoreFanout). RECEIPTs leave in the
// order of the frames that asked for them; a SEND's receipt waits until
// every queue reached has stored it (after the fsync for a persistent
// message in a durable queue), so a receipted persistent message survives
// kill -9.
//
// Deliveries. Each subscription is one queue consumer, attached paused and
// resumed once the subscription is in place. The queue's shard posts
// deliveries home, where they get the connection's ack id and are written.
// When the socket's output backs up every consumer is paused and resumed in
// on_output_drained(). Unacked deliveries (client and client-individual
// acks) are remembered by ack id; the connection closing requeues them on
// their queues (one more delivery towards the redelivery limit).
//
// Invariant: after on_close() (closed_), nothing is sent and every
// callback arriving later is ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "broker/broker.h"
#include "broker/delay/schedule.h"
#include "broker/queue/queue.h"
#include "broker/queue_host.h"
#include "broker/routing/permission_cache.h"
#include "broker/routing/registry.h"
#include "broker/selector/message_fields.h"
#include "broker/store_fanout.h"
#include "broker/stream_reader.h"
#include "net/session.h"
#include "net/transport.h"
#include "stomp/config.h"
#include "stomp/destination.h"
#include "stomp/protocol/frame.h"
#include "stomp/protocol/frame_parser.h"

namespace wharf::stomp {

class Session final : public net::Session, public std::enable_shared_from_this<Session> {
 public:
  Session(broker::Broker& broker, const StompConfig& config, std::unique_ptr<net::Transport> transport,
          std::string peer, bool loopback);
  ~Session() override;

  // Arms the CONNECT timeout. Call once the session is owned by a shared_ptr.
  void start();

  result<size_t> on_data(const net::Block& block, std::span<uint8_t> data, size_t* want) override;
  void on_close() override;
  void on_output_drained() override;

  // A resource alarm was raised or cleared (server.h).
  void set_alarm(bool on) {
    alarm_ = on;
    update_reading();
  }

  // Broker shutdown: an ERROR frame saying `why`, then the socket closes.
  void shut_down(const std::string& why) { protocol_error(why); }

 private:
  enum class AckMode : uint8_t { kAuto, kClient, kClientIndividual };
  // A queue the session has used: where it lives.
  struct QueueSlot {
    std::string name;
    ShardId shard;
  };
  struct Sub {
    std::string id;
    std::string destination;  // as subscribed
    AckMode ack = AckMode::kAuto;
    uint32_t queue = 0;       // index into queues_
    uint64_t serial = 0;      // never reused: tells a re-used id apart
    broker::queue::ConsumerId consumer;
    bool attached = false;
    bool own_queue = false;   // a queue made for this subscription (topic / exchange)
    // Topic subscriptions filter at home: their queue holds only what this
    // subscriber gets, so a non-matching message is settled, not kept.
    std::shared_ptr<const broker::selector::Selector> filter;
    uint32_t since_grant = 0;  // deliveries written since credit was last granted back
    // A subscription to a stream queue reads its Kafka topic instead (queue == kStreamSlot).
    std::shared_ptr<broker::StreamReader> reader;
  };
  struct Unacked {
    uint64_t sub = 0;   // Sub::serial
    uint32_t queue = 0; // index into queues_
    broker::queue::DeliveryTag qtag;
  };
  // A receipt, or a part of the frame stream that a receipt must wait for.
  struct Pending {
    uint64_t seq = 0;
    int parts = 0;            // stores / barriers still running
    bool failed = false;
    std::string receipt;      // "" = nothing to send (SEND without receipt)
    bool disconnect = false;  // close after sending it
  };
  static constexpr uint32_t kDeliveryCredit = 8192;
  // Sub::queue / Unacked::queue of a stream subscription: no queue slot.
  static constexpr uint32_t kStreamSlot = UINT32_MAX;
  // Consumers pause while more than this waits to be written to the socket.
  static constexpr size_t kOutputHighBytes = 4u << 20;

  // ---- frames (session.cc) ----
  void handle(Frame&& f);
  void run_backlog();
  void connect(Frame&& f);
  void disconnect(Frame&& f);
  // ERROR frame, then close once it is written. `about` (may be null) is the
  // frame at fault: its receipt header is echoed as receipt-id.
  void protocol_error(std::string message, std::string detail = {}, const Frame* about = nullptr);
  void release_client_id();
  // Ends every subscription: consumers removed and unacked deliveries
  // requeued on their queues, stream readers stopped.
  void release_queues();
  void send_frame(const Frame& f);
  void send_raw(OutBuffer&& out);
  void update_reading();

  // ---- heart-beats (session.cc) ----
  void arm_timer();
  void on_timer();

  // ---- receipts (session.cc) ----
  uint64_t open_pending(std::string receipt, int parts, bool disconnect = false);
  void part_done(uint64_t seq, bool ok);
  void flush_receipts();
  // Pending receipt `seq` waits for `n` more parts (negative: fewer).
  void add_parts(uint64_t seq, int n);
  // The StoreFanout callback that completes one part of receipt `seq` (null for 0).
  broker::StoreFanout::PartDone receipt_part(uint64_t seq);

  // ---- SEND, BEGIN/COMMIT/ABORT (send.cc) ----
  void send(Frame&& f);
  void publish(Frame&& f, uint64_t pending_seq);
  // A SEND/ACK/NACK naming a transaction is kept for its COMMIT (true), or
  // names an unknown one (true, ERROR sent); false: not transactional.
  bool held_in_tx(Frame& f);
  void begin(Frame&& f);
  void commit(Frame&& f);
  void abort(Frame&& f);
  // Declares the queue a /queue/ destination names when it does not exist
  // (with its DLQ and virtual-topic binding); false (and an ERROR sent) when
  // that fails.
  bool ensure_queue(const std::string& name, const Frame& about);
  // The real name of /temp-queue/<name>, declared on first use.
  result<std::string> temp_queue(const std::string& name);
  // The AMQ_SCHEDULED_* headers of a SEND (removed from it), or nullopt.
  result<std::optional<broker::delay::Schedule>> schedule_of(Frame& f);
  bool permitted(broker::routing::Perm perm, std::string_view kind, const std::string& name, const Frame& about);

  // ---- SUBSCRIBE / UNSUBSCRIBE and deliveries (subscribe.cc) ----
  void subscribe(Frame&& f);
  void unsubscribe(Frame&& f);
  // Attaches the subscription's consumer to `queue` (purged first when a
  // durable subscription changed topic), with the queue-side `selector`.
  void attach(Sub sub, const std::string& queue, const Frame& f, uint32_t prefetch, bool purge_first,
              std::shared_ptr<const broker::selector::Selector> selector);
  void deliver(uint64_t serial, broker::queue::Delivery&& d);
  // Writes the MESSAGE frame of delivery `d` (connection ack id `tag`) of subscription `s`.
  void write_message(const Sub& s, uint64_t tag, const broker::queue::Delivery& d, std::string_view destination);
  // Pauses every subscription while too much output waits for the socket.
  void pause_if_congested();
  void queue_cancelled(uint64_t serial);
  void set_paused(Sub& s, bool paused);
  void pause_all(bool paused);
  uint32_t queue_slot(const std::string& name);
  Sub* sub_by_serial(uint64_t serial);

  // ---- stream queues (stream.cc) ----
  void stream_subscribe(Sub sub, const std::string& name, const Frame& f, uint32_t prefetch);
  void stream_deliver(uint64_t serial, std::vector<broker::StreamRecord>&& records);

  // ---- ACK / NACK (ack.cc) ----
  void ack(Frame&& f, bool positive);
  // Settles the unacked deliveries `tags` (ack, or requeue for a NACK) on
  // their queues.
  void settle(const std::vector<uint64_t>& tags, bool positive);
  // The delivery an ACK/NACK names (by version: id, message-id), or an
  // ERROR sent and nullopt.
  std::optional<uint64_t> ack_target(const Frame& f);

  broker::Broker& broker_;
  broker::Shards& shards_;
  broker::QueueHost& host_;
  broker::routing::Registry& registry_;
  const StompConfig& config_;
  std::unique_ptr<net::Transport> transport_;
  std::string peer_;
  bool loopback_;
  ShardId home_;
  uint64_t conn_id_;                         // registry owner token of our exclusive queues
  broker::queue::SessionId qsession_;        // our deliveries in every queue
  std::string id_prefix_;                    // "ID:wharf-<conn>-": message-id / ack id prefix

  FrameParser parser_;
  Version version_ = Version::k1_0;
  bool connected_ = false;
  bool closing_ = false;  // ERROR or DISCONNECT sent: input is ignored
  bool closed_ = false;   // on_close ran
  std::string vhost_ = "/";
  std::string user_;
  std::string client_id_;
  bool client_id_claimed_ = false;  // client_id_ is ours in the broker-wide set (session.cc)

  // Ordering (see above).
  bool busy_ = false;
  bool draining_ = false;
  std::deque<Frame> backlog_;
  bool throttled_ = false;     // StoreFanout credit flow
  bool alarm_ = false;         // a resource alarm is in force
  bool published_ = false;     // this connection has sent a message
  bool read_paused_ = false;   // what we last told the transport

  // Heart-beats: intervals in ms (0 = none) and the last traffic each way.
  uint32_t send_every_ = 0, expect_every_ = 0;
  net::Transport::Clock::time_point last_sent_, last_received_, connect_deadline_;

  std::vector<QueueSlot> queues_;
  std::unordered_map<std::string, uint32_t> queue_index_;
  std::unordered_map<std::string, Sub> subs_;           // by subscription id
  std::unordered_map<uint64_t, std::string> sub_ids_;   // serial -> id
  std::unordered_map<uint64_t, Sub> leaving_;           // auto-ack subs unsubscribed, until the cancel is back
  uint64_t next_serial_ = 1;
  uint64_t next_tag_ = 1;
  std::map<uint64_t, Unacked> unacked_;                 // by ack id number (delivery order)
  bool output_paused_ = false;

  std::unordered_map<std::string, std::vector<Frame>> txs_;  // open transactions: SEND/ACK/NACK frames
  std::unordered_map<std::string, std::string> temp_queues_;  // /temp-queue/ name -> real name

  std::deque<Pending> pending_;
  uint64_t next_seq_ = 1;

  broker::StoreFanout fanout_;
  broker::routing::RouteResult route_;
  std::vector<std::string> pub_queues_, pub_topics_;
  broker::routing::PermissionCache perms_;
};

}  // namespace wharf::stomp
