// AppConfig: everything `wharf serve` can be told, with one table of keys.
//
// Each key is at the same time a TOML key (in a [section] named by the part
// before the first dot, e.g. `kafka.listen` is `listen` under [kafka]) and a
// command-line flag (`--kafka-listen`). The table in config.cc is the single
// source of the defaults printed by `wharf config` and listed in the README.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "amqp/config.h"
#include "broker/config.h"
#include "kafka/config.h"
#include "stomp/config.h"

namespace wharf::app {

struct AppConfig {
  broker::BrokerConfig broker;
  kafka::KafkaConfig kafka;
  amqp::AmqpConfig amqp;
  stomp::StompConfig stomp;
  std::string log_level = "info";
};

struct ConfigKey {
  std::string key;          // "kafka.listen"
  std::string help;
  std::function<std::string(const AppConfig&)> get;
  std::function<bool(AppConfig&, const std::string&)> set;  // false: bad value
};

const std::vector<ConfigKey>& config_keys();

// "kafka.listen" -> "kafka-listen"; "data_dir" -> "data-dir".
std::string flag_name(const std::string& key);

// Applies a TOML file. Throws std::runtime_error naming the key on errors
// (start-up only).
void load_toml(const std::string& path, AppConfig& cfg);

// The embedded defaults as a commented TOML document.
std::string default_toml();

}  // namespace wharf::app
