#include "broker/queue_host.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <set>

#include <asio.hpp>

#include "base/logging.h"
#include "broker/broker.h"
#include "broker/header_values.h"
#include "broker/routing/registry.h"

namespace wharf::broker {

namespace fs = std::filesystem;

namespace {

uint64_t fnv1a64(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));
  mix(b);
  return h;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string key_of(std::string_view vhost, std::string_view name) {
  std::string k;
  k.reserve(vhost.size() + 1 + name.size());
  k.append(vhost).push_back('\0');
  k.append(name);
  return k;
}

std::optional<int64_t> int_arg(const routing::Table& args, std::string_view name) {
  const routing::Value* v = args.find(name);
  return v ? v->as_int() : std::nullopt;
}

const std::string* string_arg(const routing::Table& args, std::string_view name) {
  const routing::Value* v = args.find(name);
  return v ? v->as_string() : nullptr;
}

}  // namespace

queue::QueueConfig queue_config_of(std::string_view vhost, const routing::QueueDef& def) {
  (void)vhost;
  queue::QueueConfig c;
  c.name = def.name;
  c.durable = def.durable;
  const auto& a = def.arguments;
  if (auto p = int_arg(a, "x-max-priority")) c.max_priority = uint8_t(std::clamp<int64_t>(*p, 0, 255));
  if (auto t = int_arg(a, "x-message-ttl")) c.message_ttl_ms = *t;
  if (auto n = int_arg(a, "x-max-length")) c.max_length = *n;
  if (auto n = int_arg(a, "x-max-length-bytes")) c.max_length_bytes = *n;
  if (const std::string* o = string_arg(a, "x-overflow")) {
    if (*o == "reject-publish") c.overflow = queue::Overflow::kRejectPublish;
    else if (*o == "reject-publish-dlx") c.overflow = queue::Overflow::kRejectPublishDlx;
  }
  if (const std::string* x = string_arg(a, "x-dead-letter-exchange")) c.dead_letter_exchange = *x;
  if (const std::string* k = string_arg(a, "x-dead-letter-routing-key")) c.dead_letter_routing_key = *k;
  if (auto n = int_arg(a, "x-delivery-limit"); n && *n >= 0) c.delivery_limit = uint32_t(std::min<int64_t>(*n, UINT32_MAX));
  if (const routing::Value* s = a.find("x-single-active-consumer"); s && s->is<bool>())
    c.single_active_consumer = *s->get_if<bool>();
  return c;
}

struct QueueHost::Entry {
  Entry(asio::io_context& io) : wake(io), expires(io) {}
  std::string vhost;
  routing::QueueDef def;
  std::shared_ptr<queue::Queue> q;
  asio::steady_timer wake;
  int64_t wake_at = -1;
  asio::steady_timer expires;
  int64_t last_used_ms = 0;
  bool had_consumer = false;
};

struct QueueHost::ShardQueues {
  explicit ShardQueues(asio::io_context& io_) : io(io_) {}
  asio::io_context& io;
  std::unordered_map<std::string, std::shared_ptr<Entry>> by_key;
};

QueueHost::QueueHost(Broker& broker) : broker_(broker), root_(broker.config().data_dir + "/queues") {
  for (unsigned i = 0; i < broker_.shards().count(); ++i)
    shards_.push_back(std::make_unique<ShardQueues>(broker_.shards().io(ShardId(i))));
}

QueueHost::~QueueHost() = default;

ShardId QueueHost::shard_of(std::string_view vhost, std::string_view name) const {
  return ShardId(uint32_t(fnv1a64(vhost, name) % shards_.size()));
}

std::string QueueHost::dir_of(std::string_view vhost, std::string_view name) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(vhost, name)));
  std::string d = root_ + "/" + hex + "-";
  size_t n = 0;
  for (unsigned char c : name) {
    if (n++ == 48) break;
    d.push_back(std::isalnum(c) || c == '-' || c == '_' || c == '.' ? char(c) : '_');
  }
  return d;
}

QueueHost::ShardQueues& QueueHost::local() { return *shards_[Shards::current().value]; }

QueueHost::Entry* QueueHost::find(std::string_view vhost, std::string_view name) {
  auto& m = local().by_key;
  thread_local std::string key;  // the publish path looks up every message: no allocation
  key.assign(vhost).push_back('\0');
  key.append(name);
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second.get();
}

void QueueHost::recover() {
  auto& reg = broker_.routing();
  std::vector<std::pair<std::string, routing::QueueDef>> defs;
  std::set<std::string> keep;
  for (const auto& vh : reg.list_vhosts())
    for (auto& q : reg.list_queues(vh)) {
      if (q.queue_type() == "stream") continue;  // a Kafka topic, not a queue folder
      keep.insert(fs::path(dir_of(vh, q.name)).filename().string());
      if (q.durable) defs.emplace_back(vh, std::move(q));
    }
  std::error_code ec;
  fs::create_directories(root_, ec);
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    if (keep.count(d.path().filename().string())) continue;
    fs::remove_all(d.path(), ec);
  }
  for (unsigned i = 0; i < shards_.size(); ++i) {
    ShardId s(i);
    size_t opened = broker_.shards().run_blocking(s, [&] {
      size_t n = 0;
      for (const auto& [vh, def] : defs) {
        if (shard_of(vh, def.name) != s) continue;
        auto r = open_entry(vh, def);
        if (!r.ok()) {
          WLOG_ERROR("queues", "cannot open queue '{}' in vhost '{}': {}", def.name, vh, r.error().message);
          continue;
        }
        ++n;
      }
      return n;
    });
    if (opened) WLOG_INFO("queues", "shard {}: recovered {} durable queue(s)", i, opened);
  }
}

void QueueHost::shutdown() {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    broker_.shards().run_blocking(ShardId(i), [&] {
      for (auto& [_, e] : local().by_key) {
        e->wake.cancel();
        e->expires.cancel();
        auto st = e->q->close();
        if (!st.ok()) WLOG_WARN("queues", "closing queue '{}': {}", e->def.name, st.error().message);
      }
      local().by_key.clear();
      return true;
    });
  }
}

result<QueueHost::Entry*> QueueHost::open_entry(std::string_view vhost, const routing::QueueDef& def) {
  if (Entry* e = find(vhost, def.name)) {
    touch(*e);
    return e;
  }
  auto& sq = local();
  auto e = std::make_shared<Entry>(sq.io);
  e->vhost = std::string(vhost);
  e->def = def;
  std::weak_ptr<Entry> weak = e;
  queue::QueueHooks hooks;
  asio::io_context* io = &sq.io;
  hooks.defer = [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
  Broker* b = &broker_;
  hooks.request_flush = [b](const std::shared_ptr<Flushable>& f, size_t bytes, bool urgent) {
    b->flusher().dirty(f, bytes, urgent);
  };
  std::string vh(vhost);
  hooks.dead_letter = [this, vh](queue::DeadLetter&& dl) {
    dl.message.exchange = dl.exchange;
    dl.message.routing_key = dl.routing_key;
    route_and_store(vh, dl.exchange, std::move(dl.message));
  };
  hooks.wake_at = [this, weak](int64_t at) {
    if (auto e = weak.lock()) arm_wake(e, at);
  };
  auto q = queue::Queue::open(dir_of(vhost, def.name), queue_config_of(vhost, def), std::move(hooks));
  if (!q.ok()) return q.error();
  e->q = std::move(*q);
  sq.by_key.emplace(key_of(vhost, def.name), e);
  touch(*e);
  arm_expires(e);
  return e.get();
}

result<std::shared_ptr<queue::Queue>> QueueHost::open(std::string_view vhost, const routing::QueueDef& def) {
  auto e = open_entry(vhost, def);
  if (!e.ok()) return e.error();
  return (*e)->q;
}

result<std::shared_ptr<queue::Queue>> QueueHost::get(std::string_view vhost, std::string_view name, bool use) {
  if (Entry* e = find(vhost, name)) {
    if (use) touch(*e);
    return e->q;
  }
  auto def = broker_.routing().find_queue(vhost, name);
  if (!def.ok()) return def.error();
  if (def->queue_type() == "stream")
    return make_error(Errc::kUnsupported, "queue '" + std::string(name) + "' is a stream");
  return open(vhost, *def);
}

void QueueHost::erase(std::string_view vhost, std::string_view name) {
  auto& m = local().by_key;
  auto it = m.find(key_of(vhost, name));
  if (it == m.end()) return;
  it->second->wake.cancel();
  it->second->expires.cancel();
  m.erase(it);
}

uint64_t QueueHost::drop(std::string_view vhost, std::string_view name) {
  Entry* e = find(vhost, name);
  if (!e) {
    std::error_code ec;
    fs::remove_all(dir_of(vhost, name), ec);
    return 0;
  }
  auto q = e->q;  // keep it alive through remove(): its callbacks may re-enter
  erase(vhost, name);
  auto r = q->remove(false, false);
  if (!r.ok()) {
    WLOG_WARN("queues", "removing queue '{}': {}", name, r.error().message);
    return 0;
  }
  return *r;
}

result<uint64_t> QueueHost::remove(std::string_view vhost, std::string_view name, bool if_unused, bool if_empty,
                                   routing::OwnerToken owner) {
  auto& reg = broker_.routing();
  auto def = reg.access_queue(vhost, name, owner);
  if (!def.ok()) return def.error();
  if (def->queue_type() == "stream") {
    auto gone = reg.delete_queue(vhost, name, owner);
    if (!gone.ok()) return gone.error();
    return uint64_t(0);
  }
  auto q = get(vhost, name);
  if (!q.ok()) return q.error();
  if (if_unused && (*q)->consumer_count() > 0)
    return make_error(Errc::kPreconditionFailed, routing::queue_phrase(vhost, name) + " in use");
  if (if_empty && (*q)->message_count() > 0)
    return make_error(Errc::kPreconditionFailed, routing::queue_phrase(vhost, name) + " not empty");
  auto gone = reg.delete_queue(vhost, name, owner);
  if (!gone.ok()) return gone.error();
  return drop(vhost, name);
}

result<queue::PublishResult> QueueHost::publish(std::string_view vhost, std::string_view name,
                                                const queue::Message& m, std::function<void(status)> confirm) {
  auto q = get(vhost, name);
  if (!q.ok()) return q.error();
  queue::ConfirmFn cb;
  if (confirm) {
    uint64_t seq = (*q)->config().durable && m.props.persistent() ? find(vhost, name)->def.seq : 0;
    routing::Registry* reg = &broker_.routing();
    asio::io_context* io = &local().io;
    cb = [seq, reg, io, confirm = std::move(confirm)](status st) mutable {
      if (!st.ok() || seq == 0 || reg->durable_seq() >= seq) return confirm(st);
      // The message is on disk but its queue's definition may not be yet.
      reg->flush_async([io, confirm = std::move(confirm)](status s) mutable {
        asio::post(*io, [confirm = std::move(confirm), s] { confirm(s); });
      });
    };
  }
  return (*q)->publish(m, std::move(cb));
}

void QueueHost::consumer_gone(std::string_view vhost, std::string_view name) {
  Entry* e = find(vhost, name);
  if (!e || e->q->consumer_count() > 0) return;
  e->had_consumer = true;
  if (e->def.auto_delete) {
    if (broker_.routing().last_consumer_gone(vhost, name)) {
      drop(vhost, name);
      return;
    }
  }
  touch(*e);
}

void QueueHost::touch(Entry& e) {
  e.last_used_ms = wall_ms();
  auto& m = local().by_key;
  auto it = m.find(key_of(e.vhost, e.def.name));
  if (it != m.end()) arm_expires(it->second);
}

void QueueHost::arm_expires(const std::shared_ptr<Entry>& e) {
  auto ttl = int_arg(e->def.arguments, "x-expires");
  if (!ttl || !e->q) return;
  int64_t due = e->last_used_ms + *ttl;
  e->expires.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, due - wall_ms())));
  std::weak_ptr<Entry> weak = e;
  e->expires.async_wait([this, weak](const asio::error_code& ec) {
    if (ec) return;
    if (auto e = weak.lock()) expire_unused(e);
  });
}

void QueueHost::expire_unused(const std::shared_ptr<Entry>& e) {
  auto ttl = int_arg(e->def.arguments, "x-expires");
  if (!ttl) return;
  if (e->q->consumer_count() > 0) return;  // consumer_gone() re-arms
  if (wall_ms() < e->last_used_ms + *ttl) return arm_expires(e);
  WLOG_INFO("queues", "queue '{}' in vhost '{}' expired (x-expires {} ms)", e->def.name, e->vhost, *ttl);
  std::string vhost = e->vhost, name = e->def.name;
  broker_.routing().remove_queue(vhost, name);
  drop(vhost, name);
}

void QueueHost::arm_wake(const std::shared_ptr<Entry>& e, int64_t at_ms) {
  if (e->wake_at >= 0 && e->wake_at <= at_ms) return;  // an earlier wake-up is armed
  e->wake_at = at_ms;
  e->wake.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at_ms - wall_ms())));
  std::weak_ptr<Entry> weak = e;
  e->wake.async_wait([weak](const asio::error_code& ec) {
    if (ec) return;
    auto e = weak.lock();
    if (!e) return;
    e->wake_at = -1;
    e->q->expire();  // asks for the next wake-up itself (hooks.wake_at)
  });
}

void QueueHost::route_and_store(std::string vhost, std::string exchange, queue::Message m) {
  thread_local routing::RouteResult rr;
  routing::Table headers = routing_table_of(m.headers);
  auto st = broker_.routing().route(vhost, exchange, m.routing_key, &headers, &rr);
  if (!st.ok()) {
    WLOG_DEBUG("queues", "dead letter to exchange '{}' dropped: {}", exchange, st.error().message);
    return;
  }
  // RabbitMQ drops a dead letter that would go round a cycle with no
  // client rejection on the way (it would expire / overflow forever).
  bool rejected = false;
  for (const auto& d : m.deaths) rejected |= d.reason == queue::DeathReason::kRejected;
  auto shared = std::make_shared<const queue::Message>(std::move(m));
  for (const auto& d : rr.destinations()) {
    if (d.kind != routing::DestKind::kQueue) continue;
    if (!rejected) {
      bool cycle = false;
      for (const auto& death : shared->deaths) cycle |= death.queue == d.name;
      if (cycle) continue;
    }
    broker_.shards().post(shard_of(vhost, d.name), [this, vhost, name = d.name, shared] {
      auto r = publish(vhost, name, *shared, nullptr);
      if (!r.ok()) WLOG_DEBUG("queues", "dead letter to queue '{}' dropped: {}", name, r.error().message);
    });
  }
}

}  // namespace wharf::broker
