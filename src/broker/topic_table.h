// TopicTable: the set of topics, their partition counts, ids and per-topic
// config overrides. Persisted as <data>/meta/topics.json (written to a temp
// file, fsynced, renamed), so a topic exists after restart exactly when its
// creation was acknowledged.
//
// Thread rules: thread-safe. Readers get immutable snapshots (shared_ptr to
// const TopicInfo); the mutex is taken per request, never per record.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/log.h"

namespace wharf::broker {

using TopicUuid = std::array<uint8_t, 16>;

struct TopicInfo {
  std::string name;
  TopicUuid id{};
  int32_t partitions = 0;
  std::map<std::string, std::string> configs;  // overrides only
  storage::LogConfig log;                      // effective (defaults + overrides)
  int32_t max_message_bytes = 0;               // effective
  bool internal = false;
};

// Kafka's rule: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
bool valid_topic_name(std::string_view name);

// The topic-level config keys Wharf understands, with broker defaults applied.
// Returns an error naming the first unknown key or bad value.
status apply_topic_configs(const std::map<std::string, std::string>& configs,
                           const storage::LogConfig& defaults, int32_t default_max_message_bytes,
                           storage::LogConfig* log, int32_t* max_message_bytes);

class TopicTable {
 public:
  TopicTable(std::string meta_dir, storage::LogConfig defaults, int32_t default_max_message_bytes);

  // Loads topics.json if present.
  status load();

  std::shared_ptr<const TopicInfo> find(std::string_view name) const;
  std::vector<std::shared_ptr<const TopicInfo>> list() const;

  // Adds a topic and persists the table. kAlreadyExists if present.
  result<std::shared_ptr<const TopicInfo>> create(const std::string& name, int32_t partitions,
                                                  const std::map<std::string, std::string>& configs);
  // Raises the partition count; kInvalidArgument if not larger.
  result<std::shared_ptr<const TopicInfo>> set_partitions(const std::string& name, int32_t partitions);
  // Replaces config overrides (AlterConfigs) and persists.
  result<std::shared_ptr<const TopicInfo>> set_configs(const std::string& name,
                                                       const std::map<std::string, std::string>& configs);
  // Removes and persists. kNotFound if absent.
  status remove(const std::string& name);

  const storage::LogConfig& defaults() const { return defaults_; }

 private:
  status persist_locked() const;

  std::string meta_dir_;
  storage::LogConfig defaults_;
  int32_t default_max_message_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TopicInfo>, std::less<>> topics_;  // GUARDED_BY(mu_)
};

}  // namespace wharf::broker
