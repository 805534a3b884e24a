// BrokerConfig: every tunable number of the broker core with its default.
// The app fills it from the TOML file and command line; docs/configuration.md
// and the README's table list the same keys and defaults.
#pragma once

#include <cstdint>
#include <string>

#include "storage/log.h"

namespace wharf::broker {

// Resource alarms (flow control, resource_monitor.h); keys `resources.*`.
struct ResourceConfig {
  // Memory alarm at this resident set size; 0 = 40% of the memory available
  // to the process (RabbitMQ's vm_memory_high_watermark 0.4).
  uint64_t memory_high_watermark_bytes = 0;
  // Disk alarm when the data dir's file system has less free space than
  // this; 0 = never (RabbitMQ's disk_free_limit, 50 MB).
  uint64_t disk_free_limit_bytes = 50'000'000;
  // How often both are measured.
  uint32_t check_interval_ms = 200;
};

struct BrokerConfig {
  std::string data_dir = "./wharf-data";
  int32_t node_id = 0;
  unsigned shards = 0;                     // 0: one per core

  // Topics
  bool auto_create_topics = true;
  int32_t default_partitions = 1;          // num.partitions
  storage::LogConfig log;                  // segment.bytes, segment.ms, retention.ms, retention.bytes
  int32_t max_message_bytes = 1048588;     // message.max.bytes: largest record batch accepted
  int64_t retention_check_interval_ms = 300000;

  // Durability (see docs/storage-format.md "Durability")
  int64_t flush_interval_ms = 100;         // acks=0/1 data is fsynced within this
  uint64_t flush_bytes = 1 << 20;          // ... or once this many bytes are unsynced
  int64_t producer_snapshot_interval_ms = 30000;

  // Groups
  int32_t group_initial_rebalance_delay_ms = 3000;
  int32_t group_min_session_timeout_ms = 6000;
  int32_t group_max_session_timeout_ms = 1800000;

  ResourceConfig resources;
};

}  // namespace wharf::broker
