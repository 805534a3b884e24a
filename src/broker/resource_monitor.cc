#include "broker/resource_monitor.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <future>

#include "base/logging.h"
#include "broker/shards.h"

namespace wharf::broker {

namespace {

// RabbitMQ's default vm_memory_high_watermark (relative): 0.4.
constexpr uint64_t kDefaultWatermarkPercent = 40;

std::optional<uint64_t> read_number_file(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text)) return std::nullopt;
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;  // "max" (no limit)
  return v;
}

std::optional<uint64_t> resident_bytes() {
  // /proc/self/statm: size resident shared text lib data dt, in pages.
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return std::nullopt;
  return resident * uint64_t(::sysconf(_SC_PAGESIZE));
}

std::optional<uint64_t> free_bytes(const std::string& dir) {
  struct statvfs st{};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
}

// "512 bytes", "37 MiB": exact below 1 MiB, where test limits live.
std::string size_text(uint64_t bytes) {
  constexpr uint64_t kMiB = 1024 * 1024;
  return bytes < kMiB ? std::to_string(bytes) + " bytes" : std::to_string(bytes / kMiB) + " MiB";
}

}  // namespace

std::string ResourceAlarms::reason() const {
  if (memory && disk) return "low on memory & disk";
  if (memory) return "low on memory";
  if (disk) return "low on disk";
  return "";
}

ResourceMonitor::ResourceMonitor(ResourceConfig config, Probe probe, uint64_t memory_available_bytes)
    : config_(config),
      probe_(std::move(probe)),
      memory_watermark_(config.memory_high_watermark_bytes
                            ? config.memory_high_watermark_bytes
                            : memory_available_bytes / 100 * kDefaultWatermarkPercent) {}

ResourceMonitor::~ResourceMonitor() { stop(); }

ResourceMonitor::Probe ResourceMonitor::system_probe(std::string data_dir) {
  return [dir = std::move(data_dir)] { return ResourceSample{resident_bytes(), free_bytes(dir)}; };
}

uint64_t ResourceMonitor::memory_available() {
  uint64_t phys = uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGESIZE));
  // A container's limit is what the kernel enforces (OOM kill), so it is the
  // one that counts when it is lower. v1 reports "no limit" as a huge number.
  for (const char* f : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    if (auto lim = read_number_file(f); lim && *lim > 0 && *lim < phys) phys = *lim;
  }
  return phys;
}

ResourceAlarms ResourceMonitor::check() {
  const ResourceSample s = probe_();  // outside the lock: statvfs may be slow
  std::lock_guard lk(mu_);
  if ((!s.memory_bytes || !s.disk_free_bytes) && !probe_failed_logged_) {
    probe_failed_logged_ = true;
    WLOG_WARN("resources", "cannot measure {}; that alarm keeps its state",
              !s.memory_bytes ? "memory use (/proc/self/statm)" : "free disk space (statvfs)");
  }
  ResourceAlarms next = alarms_;
  if (memory_watermark_ && s.memory_bytes) {
    const uint64_t m = *s.memory_bytes;
    if (!alarms_.memory && m >= memory_watermark_) {
      next.memory = true;
      WLOG_WARN("resources", "memory alarm set: {} resident, high watermark {}; blocking publishers", size_text(m),
                size_text(memory_watermark_));
    } else if (alarms_.memory && m < memory_watermark_ - memory_watermark_ / 20) {
      next.memory = false;
      WLOG_INFO("resources", "memory alarm cleared: {} resident, high watermark {}", size_text(m), size_text(memory_watermark_));
    }
  }
  if (const uint64_t limit = config_.disk_free_limit_bytes; limit && s.disk_free_bytes) {
    const uint64_t f = *s.disk_free_bytes;
    if (!alarms_.disk && f < limit) {
      next.disk = true;
      WLOG_WARN("resources", "disk alarm set: {} free, limit {}; blocking publishers", size_text(f), size_text(limit));
    } else if (alarms_.disk && f >= limit + limit / 20) {
      next.disk = false;
      WLOG_INFO("resources", "disk alarm cleared: {} free, limit {}", size_text(f), size_text(limit));
    }
  }
  if (next != alarms_) {
    alarms_ = next;
    for (auto& [id, fn] : listeners_) fn(alarms_);
  }
  return alarms_;
}

void ResourceMonitor::start() {
  WLOG_INFO("resources", "memory high watermark {}{}, disk free limit {}", size_text(memory_watermark_),
            config_.memory_high_watermark_bytes ? "" : " (40% of the memory available)",
            config_.disk_free_limit_bytes ? size_text(config_.disk_free_limit_bytes) : std::string("off"));
  check();
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ResourceMonitor::run() {
  const auto interval = std::chrono::milliseconds(std::max<uint32_t>(config_.check_interval_ms, 1));
  std::unique_lock lk(mu_);
  while (!wake_.wait_for(lk, interval, [this] { return stopping_; })) {
    lk.unlock();
    check();
    lk.lock();
  }
}

void ResourceMonitor::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ResourceAlarms ResourceMonitor::alarms() const {
  std::lock_guard lk(mu_);
  return alarms_;
}

uint64_t ResourceMonitor::subscribe(Listener fn) {
  std::lock_guard lk(mu_);
  fn(alarms_);
  const uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(fn));
  return id;
}

void ResourceMonitor::unsubscribe(uint64_t id) {
  std::lock_guard lk(mu_);
  listeners_.erase(id);
}

uint64_t subscribe_on_shards(ResourceMonitor& m, Shards& shards,
                             std::function<void(ShardId, const ResourceAlarms&)> fn) {
  return m.subscribe([&shards, fn = std::move(fn)](const ResourceAlarms& a) {
    for (unsigned i = 0; i < shards.count(); ++i) {
      shards.post(ShardId(i), [fn, a, s = ShardId(i)] { fn(s, a); });
    }
  });
}

void unsubscribe_on_shards(ResourceMonitor& m, Shards& shards, uint64_t id) {
  m.unsubscribe(id);
  std::vector<std::promise<void>> passed(shards.count());
  for (unsigned i = 0; i < shards.count(); ++i) shards.post(ShardId(i), [&passed, i] { passed[i].set_value(); });
  for (auto& p : passed) p.get_future().wait();
}

}  // namespace wharf::broker
