#include "broker/topic_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace wharf::broker {

namespace fs = std::filesystem;

bool valid_topic_name(std::string_view n) {
  if (n.empty() || n.size() > 249 || n == "." || n == "..") return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

bool parse_i64(const std::string& s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string hex(const TopicUuid& id) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) { s += d[b >> 4]; s += d[b & 15]; }
  return s;
}

bool unhex(const std::string& s, TopicUuid* id) {
  if (s.size() != 32) return false;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    int hi = v(s[2 * i]), lo = v(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*id)[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

TopicUuid random_uuid() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  TopicUuid id;
  uint64_t a = rng(), b = rng();
  std::memcpy(id.data(), &a, 8);
  std::memcpy(id.data() + 8, &b, 8);
  id[6] = (id[6] & 0x0f) | 0x40;  // version 4
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

}  // namespace

status apply_topic_configs(const std::map<std::string, std::string>& configs,
                           const storage::LogConfig& defaults, int32_t default_max_message_bytes,
                           storage::LogConfig* log, int32_t* max_message_bytes) {
  *log = defaults;
  *max_message_bytes = default_max_message_bytes;
  for (auto& [k, v] : configs) {
    int64_t n = 0;
    bool numeric = parse_i64(v, &n);
    auto bad = [&] { return make_error(Errc::kInvalidArgument, "invalid value '" + v + "' for " + k); };
    if (k == "retention.ms") {
      if (!numeric || n < -1) return bad();
      log->retention_ms = n;
    } else if (k == "retention.bytes") {
      if (!numeric || n < -1) return bad();
      log->retention_bytes = n;
    } else if (k == "segment.bytes") {
      if (!numeric || n < 14) return bad();
      log->segment_bytes = uint64_t(n);
    } else if (k == "segment.ms") {
      if (!numeric || n < 1) return bad();
      log->segment_ms = n;
    } else if (k == "index.interval.bytes") {
      if (!numeric || n < 0 || n > INT32_MAX) return bad();
      log->index_interval_bytes = uint32_t(n);
    } else if (k == "max.message.bytes") {
      if (!numeric || n < 0 || n > INT32_MAX) return bad();
      *max_message_bytes = int32_t(n);
    } else if (k == "cleanup.policy") {
      if (v != "delete" && v != "compact" && v != "compact,delete" && v != "delete,compact") return bad();
    } else if (k == "message.timestamp.type") {
      if (v != "CreateTime" && v != "LogAppendTime") return bad();
    } else if (k == "compression.type" || k == "min.insync.replicas" || k == "unclean.leader.election.enable" ||
               k == "flush.messages" || k == "flush.ms" || k == "message.timestamp.difference.max.ms" ||
               k == "min.compaction.lag.ms" || k == "delete.retention.ms" || k == "file.delete.delay.ms" ||
               k == "preallocate" || k == "message.downconversion.enable" || k == "segment.jitter.ms" ||
               k == "segment.index.bytes" || k == "min.cleanable.dirty.ratio" || k == "max.compaction.lag.ms" ||
               k == "message.format.version" || k == "follower.replication.throttled.replicas" ||
               k == "leader.replication.throttled.replicas") {
      // Accepted and reported back; they do not change single-node behaviour yet.
    } else {
      return make_error(Errc::kInvalidArgument, "unknown topic config " + k);
    }
  }
  return {};
}

TopicTable::TopicTable(std::string meta_dir, storage::LogConfig defaults, int32_t default_max_message_bytes)
    : meta_dir_(std::move(meta_dir)), defaults_(defaults), default_max_message_bytes_(default_max_message_bytes) {}

status TopicTable::load() {
  std::error_code ec;
  fs::create_directories(meta_dir_, ec);
  if (ec) return make_error(Errc::kIo, "create " + meta_dir_ + ": " + ec.message());
  std::string path = meta_dir_ + "/topics.json";
  std::ifstream in(path);
  if (!in) return {};
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("topics")) return make_error(Errc::kCorrupt, path + " is not valid JSON");
  std::lock_guard lk(mu_);
  for (auto& t : j["topics"]) {
    auto info = std::make_shared<TopicInfo>();
    info->name = t.value("name", "");
    info->partitions = t.value("partitions", 0);
    info->internal = t.value("internal", false);
    if (!unhex(t.value("id", ""), &info->id)) info->id = random_uuid();
    if (t.contains("configs"))
      for (auto& [k, v] : t["configs"].items()) info->configs[k] = v.get<std::string>();
    auto st = apply_topic_configs(info->configs, defaults_, default_max_message_bytes_, &info->log,
                                  &info->max_message_bytes);
    if (!st.ok()) return make_error(Errc::kCorrupt, path + ": topic " + info->name + ": " + st.error().message);
    topics_[info->name] = std::move(info);
  }
  return {};
}

std::shared_ptr<const TopicInfo> TopicTable::find(std::string_view name) const {
  std::lock_guard lk(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const TopicInfo>> TopicTable::list() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<const TopicInfo>> out;
  for (auto& [_, t] : topics_) out.push_back(t);
  return out;
}

result<std::shared_ptr<const TopicInfo>> TopicTable::create(const std::string& name, int32_t partitions,
                                                            const std::map<std::string, std::string>& configs) {
  if (!valid_topic_name(name)) return make_error(Errc::kInvalidArgument, "invalid topic name '" + name + "'");
  if (partitions < 1 || partitions > 100000) return make_error(Errc::kInvalidArgument, "invalid partition count");
  auto info = std::make_shared<TopicInfo>();
  info->name = name;
  info->id = random_uuid();
  info->partitions = partitions;
  info->configs = configs;
  info->internal = name.rfind("__", 0) == 0;
  auto st = apply_topic_configs(configs, defaults_, default_max_message_bytes_, &info->log, &info->max_message_bytes);
  if (!st.ok()) return st.error();
  std::lock_guard lk(mu_);
  if (topics_.count(name)) return make_error(Errc::kAlreadyExists, "topic '" + name + "' already exists");
  topics_[name] = info;
  auto p = persist_locked();
  if (!p.ok()) { topics_.erase(name); return p.error(); }
  return std::shared_ptr<const TopicInfo>(info);
}

result<std::shared_ptr<const TopicInfo>> TopicTable::set_partitions(const std::string& name, int32_t partitions) {
  std::lock_guard lk(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(Errc::kNotFound, "unknown topic " + name);
  if (partitions <= it->second->partitions)
    return make_error(Errc::kInvalidArgument, "topic " + name + " already has " +
                                                  std::to_string(it->second->partitions) + " partitions");
  auto old = it->second;
  auto info = std::make_shared<TopicInfo>(*old);
  info->partitions = partitions;
  it->second = info;
  auto p = persist_locked();
  if (!p.ok()) { it->second = old; return p.error(); }
  return std::shared_ptr<const TopicInfo>(info);
}

result<std::shared_ptr<const TopicInfo>> TopicTable::set_configs(const std::string& name,
                                                                 const std::map<std::string, std::string>& configs) {
  std::lock_guard lk(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(Errc::kNotFound, "unknown topic " + name);
  auto old = it->second;
  auto info = std::make_shared<TopicInfo>(*old);
  info->configs = configs;
  auto st = apply_topic_configs(configs, defaults_, default_max_message_bytes_, &info->log, &info->max_message_bytes);
  if (!st.ok()) return st.error();
  it->second = info;
  auto p = persist_locked();
  if (!p.ok()) { it->second = old; return p.error(); }
  return std::shared_ptr<const TopicInfo>(info);
}

status TopicTable::remove(const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(Errc::kNotFound, "unknown topic " + name);
  auto old = it->second;
  topics_.erase(it);
  auto p = persist_locked();
  if (!p.ok()) { topics_[name] = old; return p.error(); }
  return {};
}

status TopicTable::persist_locked() const {
  nlohmann::json j;
  j["version"] = 1;
  j["topics"] = nlohmann::json::array();
  for (auto& [name, t] : topics_) {
    nlohmann::json tj;
    tj["name"] = name;
    tj["id"] = hex(t->id);
    tj["partitions"] = t->partitions;
    tj["internal"] = t->internal;
    tj["configs"] = t->configs;
    j["topics"].push_back(tj);
  }
  std::string data = j.dump(1);
  std::string tmp = meta_dir_ + "/topics.json.tmp", path = meta_dir_ + "/topics.json";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::kIo, "open " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(Errc::kIo, "write " + path + ": " + std::strerror(errno));
  int dfd = ::open(meta_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
  return {};
}

}  // namespace wharf::broker
