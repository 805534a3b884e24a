#include "broker/stream_bridge.h"

#include <atomic>
#include <chrono>

#include "broker/broker.h"
#include "broker/queue/message_codec.h"

namespace wharf::broker {

namespace {

std::atomic<uint32_t> g_round_robin{0};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint32_t hash_key(std::string_view k) {
  uint32_t h = 2166136261u;
  for (unsigned char c : k) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

void append_to_topic(Broker& b, const std::string& topic, std::shared_ptr<const queue::Message> m,
                     std::function<void(status)> done) {
  ShardId origin = Shards::current();
  auto reply = [&b, origin, done = std::move(done)](status st) mutable {
    if (!done) return;
    b.shards().run_at(origin, [done = std::move(done), st]() mutable { done(st); });
  };
  auto info = b.topics().find(topic);
  if (!info || info->partitions <= 0) return reply(make_error(Errc::kNotFound, "no topic '" + topic + "'"));
  int32_t p = 0;
  if (info->partitions > 1) {
    uint32_t h = m->routing_key.empty() ? g_round_robin.fetch_add(1, std::memory_order_relaxed)
                                        : hash_key(m->routing_key);
    p = int32_t(h % uint32_t(info->partitions));
  }
  b.shards().run_at(b.shard_of(topic, p), [&b, topic, p, m = std::move(m), reply = std::move(reply)]() mutable {
    auto part = b.partition(topic, p);
    if (!part) return reply(make_error(Errc::kNotFound, "no partition " + topic + "-" + std::to_string(p)));
    thread_local queue::BatchEncoder encoder;
    thread_local std::vector<uint8_t> batch;
    int64_t now = wall_ms();
    encoder.encode(*m, now, batch);
    auto out = part->append(std::span<uint8_t>(batch.data(), batch.size()), now);
    if (out.err != Errc::kOk) return reply(make_error(out.err, out.message));
    bool persistent = m->props.persistent();
    if (out.bytes > 0) b.flusher().dirty(part, out.bytes, persistent);
    if (!persistent) return reply({});
    part->wait_durable(out.last_offset, [reply = std::move(reply)](status st) mutable { reply(st); });
  });
}

}  // namespace wharf::broker
