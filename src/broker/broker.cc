#include "broker/broker.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <future>

#include "base/logging.h"
#include "broker/delay_host.h"
#include "broker/group/group_coordinator.h"
#include "broker/queue_host.h"
#include "broker/routing/registry.h"

namespace wharf::broker {

namespace {

uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) { h ^= c; h *= 16777619u; }
  return h;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct TpKey {
  std::string topic;
  int32_t partition;
  bool operator==(const TpKey&) const = default;
};
struct TpHash {
  size_t operator()(const TpKey& k) const { return std::hash<std::string>{}(k.topic) * 31 + size_t(k.partition); }
};

group::GroupConfig group_config(const BrokerConfig& c) {
  group::GroupConfig g;
  g.initial_rebalance_delay_ms = c.group_initial_rebalance_delay_ms;
  g.min_session_timeout_ms = c.group_min_session_timeout_ms;
  g.max_session_timeout_ms = c.group_max_session_timeout_ms;
  g.offsets_flush_interval_ms = int32_t(c.flush_interval_ms);
  return g;
}

std::vector<uint32_t> buckets_of(ShardId s, unsigned shards) {
  std::vector<uint32_t> b;
  for (uint32_t k = 0; k < group::kOffsetBuckets; ++k)
    if (k % shards == s.value) b.push_back(k);
  return b;
}

}  // namespace

struct Broker::ShardState {
  ShardState(asio::io_context& io, const BrokerConfig& c, ShardId s, unsigned shards)
      : flusher(io, c.flush_interval_ms, c.flush_bytes),
        groups(io, c.data_dir, group_config(c), buckets_of(s, shards)),
        retention_timer(io),
        snapshot_timer(io) {}
  std::unordered_map<TpKey, std::shared_ptr<Partition>, TpHash> partitions;
  Flusher flusher;
  group::GroupCoordinator groups;
  asio::steady_timer retention_timer;
  asio::steady_timer snapshot_timer;
};

Broker::Broker(BrokerConfig config, Shards& shards)
    : config_(std::move(config)),
      shards_(shards),
      topics_(config_.data_dir + "/meta", config_.log, config_.max_message_bytes) {}

Broker::~Broker() = default;

result<std::unique_ptr<Broker>> Broker::open(BrokerConfig config, Shards& shards) {
  std::unique_ptr<Broker> b(new Broker(std::move(config), shards));
  auto lock = DataDirLock::acquire(b->config_.data_dir);
  if (!lock.ok()) return lock.error();
  b->lock_ = std::move(*lock);
  b->resources_ = std::make_unique<ResourceMonitor>(b->config_.resources,
                                                    ResourceMonitor::system_probe(b->config_.data_dir),
                                                    ResourceMonitor::memory_available());
  // Measured before any listener opens, so the first client already sees
  // an alarm that is in force.
  b->resources_->start();
  auto st = b->topics_.load();
  if (!st.ok()) return st.error();
  routing::RegistryOptions ro;
  ro.meta_dir = b->config_.data_dir + "/meta";
  ro.reader_slots = shards.count();
  ro.flush_interval_ms = b->config_.flush_interval_ms;
  auto reg = routing::Registry::open(ro);
  if (!reg.ok()) return reg.error();
  b->routing_ = std::move(*reg);
  for (unsigned i = 0; i < shards.count(); ++i) {
    ShardId s(i);
    b->state_.push_back(shards.run_blocking(s, [&] {
      auto st = std::make_unique<ShardState>(shards.io(s), b->config_, s, shards.count());
      auto loaded = st->groups.load();
      if (!loaded.ok()) WLOG_ERROR("broker", "loading consumer offsets: {}", loaded.error().message);
      return st;
    }));
  }
  st = b->open_partitions_blocking();
  if (!st.ok()) return st.error();
  b->queues_ = std::make_unique<QueueHost>(*b);
  b->queues_->recover();
  // After the queues: overdue delayed messages fire as soon as it is open.
  b->delays_ = std::make_unique<DelayHost>(*b);
  st = b->delays_->open();
  if (!st.ok()) return st.error();
  for (unsigned i = 0; i < shards.count(); ++i) {
    ShardId s(i);
    shards.post(s, [bp = b.get(), s] { bp->start_timers(s); });
  }
  return b;
}

std::string Broker::partition_dir(std::string_view topic, int32_t p) const {
  return config_.data_dir + "/" + std::string(topic) + "-" + std::to_string(p);
}

ShardId Broker::shard_of(std::string_view topic, int32_t partition) const {
  return ShardId((fnv1a(topic) + uint32_t(partition)) % shards_.count());
}

ShardId Broker::group_shard(std::string_view group_id) const {
  return ShardId(group::GroupCoordinator::group_bucket(group_id) % shards_.count());
}

group::GroupCoordinator& Broker::groups() { return state_[Shards::current().value]->groups; }

std::shared_ptr<Partition> Broker::partition(std::string_view topic, int32_t partition) {
  auto& st = *state_[Shards::current().value];
  auto it = st.partitions.find(TpKey{std::string(topic), partition});
  return it == st.partitions.end() ? nullptr : it->second;
}

Flusher& Broker::flusher() { return state_[Shards::current().value]->flusher; }

status Broker::open_partitions_blocking() {
  // Every shard opens its own partitions; shards recover in parallel.
  auto topics = topics_.list();
  std::vector<std::future<status>> futs;
  for (unsigned i = 0; i < shards_.count(); ++i) {
    ShardId s(i);
    auto p = std::make_shared<std::promise<status>>();
    futs.push_back(p->get_future());
    shards_.post(s, [this, s, p, topics] {
      auto& st = *state_[s.value];
      for (auto& t : topics) {
        for (int32_t k = 0; k < t->partitions; ++k) {
          if (shard_of(t->name, k) != s) continue;
          auto part = Partition::open(storage::Env::posix(), partition_dir(t->name, k), t->name, k, t->log,
                                      t->max_message_bytes);
          if (!part.ok()) {
            p->set_value(make_error(part.code(), t->name + "-" + std::to_string(k) + ": " + part.error().message));
            return;
          }
          st.partitions[TpKey{t->name, k}] = std::move(*part);
        }
      }
      p->set_value(status{});
    });
  }
  status result;
  for (auto& f : futs) {
    auto st = f.get();
    if (!st.ok() && result.ok()) result = st;
  }
  return result;
}

void Broker::open_partitions(std::shared_ptr<const TopicInfo> info, int32_t from, int32_t to,
                             std::function<void(status)> done) {
  // Fan out to the owner shards, gather on the calling shard.
  struct Gather {
    int left;
    status first_error;
    std::function<void(status)> done;
  };
  auto g = std::make_shared<Gather>(Gather{to - from, {}, std::move(done)});
  if (g->left == 0) { g->done(status{}); return; }
  for (int32_t k = from; k < to; ++k) {
    ShardId s = shard_of(info->name, k);
    shards_.call(
        s,
        [this, info, k, s]() -> status {
          auto part = Partition::open(storage::Env::posix(), partition_dir(info->name, k), info->name, k, info->log,
                                      info->max_message_bytes);
          if (!part.ok()) return part.error();
          state_[s.value]->partitions[TpKey{info->name, k}] = std::move(*part);
          return {};
        },
        [g](status st) {
          if (!st.ok() && g->first_error.ok()) g->first_error = st;
          if (--g->left == 0) g->done(g->first_error);
        });
  }
}

void Broker::create_topic(const std::string& name, int32_t partitions, const std::map<std::string, std::string>& configs,
                          TopicCallback done) {
  auto info = topics_.create(name, partitions, configs);
  if (!info.ok()) { done(info.error()); return; }
  auto ti = *info;
  open_partitions(ti, 0, partitions, [ti, done = std::move(done)](status st) {
    if (!st.ok()) {
      WLOG_ERROR("broker", "topic {}: opening its partitions failed: {}", ti->name, st.error().message);
      done(st.error());
      return;
    }
    WLOG_INFO("broker", "created topic {} with {} partition(s)", ti->name, ti->partitions);
    done(ti);
  });
}

void Broker::create_partitions(const std::string& name, int32_t total, TopicCallback done) {
  auto old = topics_.find(name);
  if (!old) { done(make_error(Errc::kNotFound, "unknown topic " + name)); return; }
  auto info = topics_.set_partitions(name, total);
  if (!info.ok()) { done(info.error()); return; }
  auto ti = *info;
  open_partitions(ti, old->partitions, total, [ti, done = std::move(done)](status st) {
    if (!st.ok()) {
      WLOG_ERROR("broker", "topic {}: opening new partitions failed: {}", ti->name, st.error().message);
      done(st.error());
      return;
    }
    done(ti);
  });
}

void Broker::delete_topic(const std::string& name, std::function<void(status)> done) {
  auto info = topics_.find(name);
  if (!info) { done(make_error(Errc::kNotFound, "unknown topic " + name)); return; }
  auto st = topics_.remove(name);
  if (!st.ok()) { done(st); return; }
  WLOG_INFO("broker", "deleting topic {}", name);
  if (size_t n = routing_->remove_topic(name)) WLOG_INFO("broker", "dropped {} exchange binding(s) to topic {}", n, name);
  struct Gather { int left; std::function<void(status)> done; };
  auto g = std::make_shared<Gather>(Gather{info->partitions, std::move(done)});
  for (int32_t k = 0; k < info->partitions; ++k) {
    ShardId s = shard_of(name, k);
    shards_.call(
        s,
        [this, name, k, s]() -> bool {
          auto& parts = state_[s.value]->partitions;
          auto it = parts.find(TpKey{name, k});
          if (it != parts.end()) {
            (void)it->second->close();
            parts.erase(it);
          }
          auto r = storage::Log::remove(storage::Env::posix(), partition_dir(name, k));
          if (!r.ok()) WLOG_WARN("broker", "removing {}-{}: {}", name, k, r.error().message);
          return true;
        },
        [g](bool) {
          if (--g->left == 0) g->done(status{});
        });
  }
}

result<int64_t> Broker::allocate_producer_id() {
  // Ids are handed out from blocks of 1000; the end of the current block is
  // persisted before any id of it is used, so a restart never reuses an id.
  std::lock_guard lk(pid_mu_);
  if (next_pid_ >= pid_block_end_) {
    std::string path = config_.data_dir + "/meta/producer_id_block";
    int64_t start = 0;
    {
      std::ifstream in(path);
      if (in) in >> start;
    }
    if (start < next_pid_) start = next_pid_;
    int64_t end = start + 1000;
    std::string tmp = path + ".tmp", data = std::to_string(end) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(Errc::kIo, "open " + tmp + ": " + std::strerror(errno));
    bool ok = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) && ::fdatasync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return make_error(Errc::kIo, "write " + path);
    next_pid_ = start;
    pid_block_end_ = end;
  }
  return next_pid_++;
}

void Broker::start_timers(ShardId s) {
  arm_retention(s);
  arm_snapshots(s);
}

void Broker::arm_retention(ShardId s) {
  auto& t = state_[s.value]->retention_timer;
  t.expires_after(std::chrono::milliseconds(config_.retention_check_interval_ms));
  t.async_wait([this, s](const asio::error_code& ec) {
    if (ec) return;
    int64_t now = now_ms();
    for (auto& [_, p] : state_[s.value]->partitions) p->apply_retention(now);
    arm_retention(s);
  });
}

void Broker::arm_snapshots(ShardId s) {
  // Periodic producer-state snapshots bound how much of a log's tail has to
  // be replayed after a crash.
  auto& t = state_[s.value]->snapshot_timer;
  t.expires_after(std::chrono::milliseconds(config_.producer_snapshot_interval_ms));
  t.async_wait([this, s](const asio::error_code& ec) {
    if (ec) return;
    for (auto& [_, p] : state_[s.value]->partitions) {
      auto r = p->save_producer_snapshot();
      if (!r.ok()) WLOG_WARN("broker", "producer snapshot of {}-{}: {}", p->topic(), p->id(), r.error().message);
    }
    arm_snapshots(s);
  });
}

void Broker::shutdown() {
  if (resources_) resources_->stop();
  // Before the queues: no delayed message fires into a closing queue.
  if (delays_) delays_->shutdown();
  if (queues_) queues_->shutdown();
  if (routing_) {
    auto st = routing_->flush();
    if (!st.ok()) WLOG_WARN("broker", "flushing routing metadata: {}", st.error().message);
  }
  for (unsigned i = 0; i < shards_.count(); ++i) {
    ShardId s(i);
    shards_.run_blocking(s, [this, s] {
      auto& st = *state_[s.value];
      st.retention_timer.cancel();
      st.snapshot_timer.cancel();
      st.flusher.flush_all_sync();
      for (auto& [_, p] : st.partitions) {
        auto r = p->close();
        if (!r.ok()) WLOG_WARN("broker", "closing {}-{}: {}", p->topic(), p->id(), r.error().message);
      }
      st.partitions.clear();
      st.flusher.stop();
      st.groups.shutdown();
      return true;
    });
  }
}

}  // namespace wharf::broker
