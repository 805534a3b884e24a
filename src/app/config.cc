#include "app/config.h"

#include <charconv>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

namespace wharf::app {

namespace {

template <class T>
bool parse_int(const std::string& s, T* out) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  if (v < int64_t(std::numeric_limits<T>::min()) || (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<T>::max())))
    return false;
  *out = T(v);
  return true;
}

bool parse_bool(const std::string& s, bool* out) {
  if (s == "true" || s == "1" || s == "yes") { *out = true; return true; }
  if (s == "false" || s == "0" || s == "no") { *out = false; return true; }
  return false;
}

#define WHARF_INT_KEY(KEY, FIELD, HELP)                                                  \
  ConfigKey {                                                                            \
    KEY, HELP, [](const AppConfig& c) { return std::to_string(c.FIELD); },               \
        [](AppConfig& c, const std::string& v) { return parse_int(v, &c.FIELD); }        \
  }
#define WHARF_STR_KEY(KEY, FIELD, HELP)                                                  \
  ConfigKey {                                                                            \
    KEY, HELP, [](const AppConfig& c) { return c.FIELD; },                               \
        [](AppConfig& c, const std::string& v) { c.FIELD = v; return true; }             \
  }
#define WHARF_BOOL_KEY(KEY, FIELD, HELP)                                                 \
  ConfigKey {                                                                            \
    KEY, HELP, [](const AppConfig& c) { return std::string(c.FIELD ? "true" : "false"); }, \
        [](AppConfig& c, const std::string& v) { return parse_bool(v, &c.FIELD); }       \
  }

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      WHARF_STR_KEY("data_dir", broker.data_dir, "Directory for all data (logs, offsets, metadata)"),
      WHARF_STR_KEY("log_level", log_level, "trace, debug, info, warn, error or off"),
      WHARF_INT_KEY("node_id", broker.node_id, "This broker's id as reported to Kafka clients"),
      WHARF_INT_KEY("shards", broker.shards, "Worker threads, one per core; 0 = number of cores"),
      WHARF_STR_KEY("kafka.listen", kafka.listen, "Kafka listener HOST:PORT"),
      WHARF_STR_KEY("kafka.advertised_host", kafka.advertised_host,
                    "Host name given to clients in metadata; empty = listen host, or localhost for 0.0.0.0"),
      WHARF_INT_KEY("kafka.max_request_bytes", kafka.max_request_bytes,
                    "Largest request frame (socket.request.max.bytes); larger closes the connection"),
      WHARF_INT_KEY("kafka.max_inflight_per_connection", kafka.max_inflight_per_connection,
                    "Pipelined requests processed at once per connection"),
      WHARF_STR_KEY("amqp.listen", amqp.listen, "AMQP 0-9-1 listener HOST:PORT"),
      WHARF_INT_KEY("amqp.heartbeat", amqp.heartbeat_s,
                    "Heartbeat interval offered to AMQP clients, seconds; 0 = none (the client's tune-ok decides)"),
      WHARF_INT_KEY("amqp.frame_max", amqp.frame_max,
                    "Largest AMQP frame, bytes (>= 4096); clients may negotiate it lower"),
      WHARF_INT_KEY("amqp.channel_max", amqp.channel_max,
                    "Highest AMQP channel number per connection; clients may negotiate it lower"),
      WHARF_INT_KEY("amqp.max_message_bytes", amqp.max_message_bytes,
                    "Largest AMQP message body; larger publishes close the channel (406 PRECONDITION_FAILED)"),
      WHARF_INT_KEY("amqp.handshake_timeout_ms", amqp.handshake_timeout_ms,
                    "Time an AMQP client has from connecting to connection.open-ok"),
      WHARF_STR_KEY("stomp.listen", stomp.listen, "STOMP 1.0/1.1/1.2 listener HOST:PORT"),
      WHARF_STR_KEY("stomp.ws_listen", stomp.ws_listen, "STOMP over WebSocket listener HOST:PORT; empty = off"),
      WHARF_STR_KEY("stomp.ws_path", stomp.ws_path, "HTTP path of the STOMP WebSocket endpoint"),
      WHARF_INT_KEY("stomp.max_body_bytes", stomp.max_body_bytes,
                    "Largest STOMP frame body; larger frames get an ERROR and the connection closes"),
      WHARF_INT_KEY("stomp.max_header_line_bytes", stomp.max_header_line_bytes,
                    "Longest STOMP command or header line"),
      WHARF_INT_KEY("stomp.max_headers", stomp.max_headers, "Most header lines in one STOMP frame"),
      WHARF_INT_KEY("stomp.heartbeat_ms", stomp.heartbeat_ms,
                    "Least heart-beat interval asked of STOMP clients that offer heart-beats; 0 = theirs"),
      WHARF_INT_KEY("stomp.connect_timeout_ms", stomp.connect_timeout_ms,
                    "Time a STOMP client has to send CONNECT"),
      WHARF_STR_KEY("stomp.default_login", stomp.default_login,
                    "User of a STOMP CONNECT without login; empty = login required"),
      WHARF_INT_KEY("stomp.max_redeliveries", stomp.max_redeliveries,
                    "Redeliveries before a message moves to DLQ.<queue> (STOMP-created queues)"),
      WHARF_INT_KEY("stomp.default_prefetch", stomp.default_prefetch,
                    "Unacked messages per client-ack STOMP subscription unless it sets activemq.prefetchSize"),
      WHARF_BOOL_KEY("topics.auto_create", broker.auto_create_topics,
                     "Create unknown topics on Metadata requests (auto.create.topics.enable)"),
      WHARF_INT_KEY("topics.default_partitions", broker.default_partitions,
                    "Partitions of auto-created topics (num.partitions)"),
      WHARF_INT_KEY("topics.segment_bytes", broker.log.segment_bytes, "Roll a segment at this size (segment.bytes)"),
      WHARF_INT_KEY("topics.segment_ms", broker.log.segment_ms, "Roll a segment at this age (segment.ms)"),
      WHARF_INT_KEY("topics.retention_ms", broker.log.retention_ms, "Delete segments older than this; -1 = forever"),
      WHARF_INT_KEY("topics.retention_bytes", broker.log.retention_bytes,
                    "Delete oldest segments past this partition size; -1 = no limit"),
      WHARF_INT_KEY("topics.index_interval_bytes", broker.log.index_interval_bytes,
                    "Bytes between sparse index entries"),
      WHARF_INT_KEY("topics.max_message_bytes", broker.max_message_bytes,
                    "Largest record batch accepted (message.max.bytes)"),
      WHARF_INT_KEY("topics.retention_check_interval_ms", broker.retention_check_interval_ms,
                    "How often retention runs"),
      WHARF_INT_KEY("durability.flush_interval_ms", broker.flush_interval_ms,
                    "acks=0/1 data is fsynced at most this long after it was written"),
      WHARF_INT_KEY("durability.flush_bytes", broker.flush_bytes,
                    "... or as soon as this many bytes are unsynced on a core"),
      WHARF_INT_KEY("durability.producer_snapshot_interval_ms", broker.producer_snapshot_interval_ms,
                    "How often idempotent-producer state is checkpointed"),
      WHARF_INT_KEY("groups.initial_rebalance_delay_ms", broker.group_initial_rebalance_delay_ms,
                    "Wait for more members before the first rebalance of an empty group"),
      WHARF_INT_KEY("groups.min_session_timeout_ms", broker.group_min_session_timeout_ms,
                    "Smallest session.timeout.ms a consumer may ask for"),
      WHARF_INT_KEY("groups.max_session_timeout_ms", broker.group_max_session_timeout_ms,
                    "Largest session.timeout.ms a consumer may ask for"),
      // Resource alarms (broker/resource_monitor.h): while one is raised,
      // AMQP publishers get connection.blocked and are no longer read after
      // their next publish; an alarm clears 5% past its watermark.
      WHARF_INT_KEY("resources.memory_high_watermark_bytes", broker.resources.memory_high_watermark_bytes,
                    "Memory alarm when the broker's resident memory reaches this; 0 = 40% of the machine's "
                    "(or cgroup's) memory"),
      WHARF_INT_KEY("resources.disk_free_limit_bytes", broker.resources.disk_free_limit_bytes,
                    "Disk alarm when the data dir's file system has less free space than this; 0 = off"),
      WHARF_INT_KEY("resources.check_interval_ms", broker.resources.check_interval_ms,
                    "How often memory use and free disk space are measured"),
  };
  return keys;
}

std::string flag_name(const std::string& key) {
  std::string f = key;
  for (char& c : f)
    if (c == '.' || c == '_') c = '-';
  return f;
}

void load_toml(const std::string& path, AppConfig& cfg) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path << ":" << e.source().begin.line << ": " << e.description();
    throw std::runtime_error(os.str());
  }
  auto set = [&](const std::string& key, const toml::node& node) {
    for (auto& k : config_keys()) {
      if (k.key != key) continue;
      std::string v;
      if (auto s = node.value<std::string>()) v = *s;
      else if (auto i = node.value<int64_t>()) v = std::to_string(*i);
      else if (auto b = node.value<bool>()) v = *b ? "true" : "false";
      else throw std::runtime_error(path + ": " + key + " has an unsupported type");
      if (!k.set(cfg, v)) throw std::runtime_error(path + ": invalid value for " + key);
      return;
    }
    throw std::runtime_error(path + ": unknown key " + key);
  };
  for (auto& [k, v] : tbl) {
    std::string key(k.str());
    if (auto* sub = v.as_table()) {
      for (auto& [k2, v2] : *sub) set(key + "." + std::string(k2.str()), v2);
    } else {
      set(key, v);
    }
  }
}

std::string default_toml() {
  AppConfig def;
  std::ostringstream os;
  os << "# Wharf configuration: every key with its default.\n";
  std::string section;
  for (auto& k : config_keys()) {
    auto dot = k.key.find('.');
    std::string sec = dot == std::string::npos ? "" : k.key.substr(0, dot);
    std::string name = dot == std::string::npos ? k.key : k.key.substr(dot + 1);
    if (sec != section) {
      os << "\n[" << sec << "]\n";
      section = sec;
    }
    std::string v = k.get(def);
    int64_t ignored;
    bool numeric = parse_int(v, &ignored);
    bool boolean = v == "true" || v == "false";
    os << "# " << k.help << "\n" << name << " = " << (numeric || boolean ? v : "\"" + v + "\"") << "\n";
  }
  return os.str();
}

}  // namespace wharf::app
