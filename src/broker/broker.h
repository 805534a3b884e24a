// Broker: the protocol-neutral core. Owns the topic table, the routing
// registry and, per shard, the partitions, the flusher and the group
// coordinator of that shard.
//
// Placement: partition p of topic t lives on shard (hash(t) + p) % shards, so
// a topic's partitions spread evenly over cores; group g lives on the shard of
// its offsets bucket. Front ends route work to the owner with Shards::call().
//
// Thread rules: open()/shutdown() on the main thread before/after serving.
// partition(), flusher(), groups() only on the shard that owns what they
// return. Topic operations may be called on any shard thread; their callbacks
// run on the calling shard.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "broker/config.h"
#include "broker/data_dir_lock.h"
#include "broker/flusher.h"
#include "broker/partition.h"
#include "broker/resource_monitor.h"
#include "broker/shards.h"
#include "broker/topic_table.h"

namespace wharf::broker {

namespace group {
class GroupCoordinator;
}
namespace routing {
class Registry;  // broker/routing/registry.h
}
class QueueHost;  // broker/queue_host.h
class DelayHost;  // broker/delay_host.h

class Broker {
 public:
  // Opens the data dir (taking an exclusive lock on it), loads topics and
  // recovers every partition on its shard. Shards must be started.
  static result<std::unique_ptr<Broker>> open(BrokerConfig config, Shards& shards);
  ~Broker();

  const BrokerConfig& config() const { return config_; }
  Shards& shards() { return shards_; }
  TopicTable& topics() { return topics_; }
  // Vhosts, users, exchanges, queue definitions and bindings of the AMQP and
  // STOMP front ends (broker/routing/registry.h for its thread rules).
  routing::Registry& routing() { return *routing_; }
  // The live queues behind the registry's queue definitions.
  QueueHost& queues() { return *queues_; }
  // Scheduled delivery (AMQP x-delayed-message, STOMP AMQ_SCHEDULED_*):
  // delays().schedule(target, message, schedule, done) from any shard.
  DelayHost& delays() { return *delays_; }
  // Memory and disk alarms (flow control); sampling runs from open() until
  // shutdown(). Front ends subscribe to block their publishers.
  ResourceMonitor& resources() { return *resources_; }

  ShardId shard_of(std::string_view topic, int32_t partition) const;
  ShardId group_shard(std::string_view group_id) const;

  // REQUIRES: on shard_of(topic, partition). Null if not hosted.
  std::shared_ptr<Partition> partition(std::string_view topic, int32_t partition);
  // REQUIRES: on a shard thread. This shard's flusher / group coordinator.
  Flusher& flusher();
  group::GroupCoordinator& groups();

  using TopicCallback = std::function<void(result<std::shared_ptr<const TopicInfo>>)>;
  // Creates a topic and opens its partitions; `done` runs on the calling
  // shard once every partition is open.
  void create_topic(const std::string& name, int32_t partitions, const std::map<std::string, std::string>& configs,
                    TopicCallback done);
  void create_partitions(const std::string& name, int32_t total, TopicCallback done);
  void delete_topic(const std::string& name, std::function<void(status)> done);

  // Thread-safe; ids are unique across restarts (allocated in persisted blocks).
  result<int64_t> allocate_producer_id();

  // Flushes and closes everything. Call from the main thread with shards running.
  void shutdown();

 private:
  struct ShardState;
  Broker(BrokerConfig config, Shards& shards);
  status open_partitions_blocking();
  void open_partitions(std::shared_ptr<const TopicInfo> info, int32_t from, int32_t to,
                       std::function<void(status)> done);
  void start_timers(ShardId s);
  void arm_retention(ShardId s);
  void arm_snapshots(ShardId s);
  std::string partition_dir(std::string_view topic, int32_t p) const;

  BrokerConfig config_;
  Shards& shards_;
  // Declared before everything that writes into the data dir, so it is
  // released last.
  DataDirLock lock_;
  TopicTable topics_;
  std::unique_ptr<routing::Registry> routing_;
  std::unique_ptr<QueueHost> queues_;
  std::unique_ptr<DelayHost> delays_;
  std::unique_ptr<ResourceMonitor> resources_;
  std::vector<std::unique_ptr<ShardState>> state_;  // index = shard; each touched only by its shard

  std::mutex pid_mu_;
  int64_t next_pid_ = 0, pid_block_end_ = 0;  // GUARDED_BY(pid_mu_)
};

}  // namespace wharf::broker
