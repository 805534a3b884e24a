// QueueHost: the live queues of the broker (src/broker/queue engine
// instances) for the queue definitions the routing registry keeps, placed on
// shards, with the wiring each queue needs: group commit, expiry timers,
// dead-lettering through the registry, x-expires and auto-delete.
//
// Placement: queue (vhost, name) lives on shard_of(vhost, name), a hash, so
// every front end finds it without asking anyone. Every method below except
// shard_of() and the cross-shard helpers runs on the owning shard.
//
// Directory: <data>/queues/<16 hex digits of a 64-bit hash of vhost and
// name>-<name with unsafe bytes replaced, at most 48 bytes>. The hash names
// the queue; the suffix is for people reading the folder. At start-up every
// folder not belonging to a durable definition is removed (transient queues
// do not survive a restart, and a crash may leave a deleted queue's folder).
//
// Life cycle of a live queue:
//   open()    on declare (and at start-up for every durable definition)
//   get()     any use; opens it from the registry's definition if needed
//             (the queue was declared through another shard's connection)
//   drop()    after the registry forgot the definition (delete, exclusive
//             owner gone, x-expires, auto-delete): the queue is removed,
//             its consumers get on_cancel, its folder is deleted.
//
// Durability of confirms: publish()'s callback runs once the queue says the
// message is durable AND the registry has the queue's definition on disk
// (durable_seq() >= QueueDef::seq), so a confirmed message never outlives
// the definition of its queue.
//
// Thread rules: see above. Callbacks run on the owning shard.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/queue/queue.h"
#include "broker/routing/queue_def.h"

namespace wharf::broker {

class Broker;

// QueueConfig for a definition's arguments (x-message-ttl, x-max-length,
// x-overflow, x-dead-letter-*, x-max-priority, x-single-active-consumer,
// x-delivery-limit). The registry has validated them.
queue::QueueConfig queue_config_of(std::string_view vhost, const routing::QueueDef& def);

class QueueHost {
 public:
  explicit QueueHost(Broker& broker);
  ~QueueHost();
  QueueHost(const QueueHost&) = delete;
  QueueHost& operator=(const QueueHost&) = delete;

  ShardId shard_of(std::string_view vhost, std::string_view name) const;
  std::string dir_of(std::string_view vhost, std::string_view name) const;

  // Start-up (main thread, shards running): removes orphan folders and opens
  // every durable queue on its shard. Blocks until done.
  void recover();
  // Shut-down (main thread): closes every queue on every shard (fsync).
  void shutdown();

  // ---- on the owning shard ----

  // Opens the live queue for `def` (just declared, or at start-up), or
  // returns the open one. Marks it used (x-expires).
  result<std::shared_ptr<queue::Queue>> open(std::string_view vhost, const routing::QueueDef& def);
  // The live queue; opened from the registry's definition when not open yet.
  // kNotFound when the registry has no such queue. `use`: counts as using
  // it for x-expires (consume, basic.get, declare do; publishing and
  // settling do not, as in RabbitMQ).
  result<std::shared_ptr<queue::Queue>> get(std::string_view vhost, std::string_view name, bool use = false);
  // Removes the live queue (consumers cancelled, folder deleted). Returns the
  // ready count it had; 0 if it was not open. Call after the registry forgot it.
  uint64_t drop(std::string_view vhost, std::string_view name);
  // queue.delete: checks if_unused / if_empty on the live queue, then removes
  // the definition (the registry checks exclusivity with `owner`) and the
  // queue. Returns the ready count. Errors as Queue::remove and
  // Registry::delete_queue.
  result<uint64_t> remove(std::string_view vhost, std::string_view name, bool if_unused, bool if_empty,
                          routing::OwnerToken owner);

  // Stores `m`; `confirm` (may be null) runs once it is durable as promised
  // (see above) or with the error. kNotFound when the queue does not exist.
  result<queue::PublishResult> publish(std::string_view vhost, std::string_view name, const queue::Message& m,
                                       std::function<void(status)> confirm);

  // A consumer of the queue went away (cancel, channel closed): an
  // auto-delete queue left without consumers is deleted, and the x-expires
  // clock starts.
  void consumer_gone(std::string_view vhost, std::string_view name);

  // ---- from any shard thread ----

  // Routes `m` from `exchange` with its routing key (and headers) in `vhost`
  // and stores a copy in every queue reached, each on its own shard; no
  // confirms. Used for dead letters. Kafka topic destinations are skipped.
  void route_and_store(std::string vhost, std::string exchange, queue::Message m);

 private:
  struct Entry;
  struct ShardQueues;

  ShardQueues& local();
  Entry* find(std::string_view vhost, std::string_view name);
  result<Entry*> open_entry(std::string_view vhost, const routing::QueueDef& def);
  void arm_wake(const std::shared_ptr<Entry>& e, int64_t at_ms);
  void touch(Entry& e);
  void arm_expires(const std::shared_ptr<Entry>& e);
  void expire_unused(const std::shared_ptr<Entry>& e);
  void erase(std::string_view vhost, std::string_view name);

  Broker& broker_;
  std::string root_;  // <data>/queues
  std::vector<std::unique_ptr<ShardQueues>> shards_;  // index = shard
};

}  // namespace wharf::broker
