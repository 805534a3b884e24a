// wharf: the broker binary.
//
// Start-up order: config -> logging -> signals blocked (so only the main
// thread takes them) -> shards -> broker core (recovery) -> listeners.
// Shut-down is the reverse: listeners stop, the core flushes and closes
// every segment, shards stop.
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "amqp/handler/session.h"
#include "amqp/server.h"
#include "stomp/server.h"
#include "app/admin_cli.h"
#include "app/config.h"
#include "base/logging.h"
#include "base/version.h"
#include "broker/broker.h"
#include "broker/shards.h"
#include "kafka/server.h"

namespace {

void raise_fd_limit() {
  // Every segment keeps its .log open; many partitions need many fds. Ask for
  // up to 1M (root may raise the hard limit), else take the hard limit.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlimit want{1 << 20, 1 << 20};
  if (rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int serve(wharf::app::AppConfig cfg) {
  using namespace wharf;
  auto t0 = std::chrono::steady_clock::now();
  logging::init(cfg.log_level);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  unsigned n = cfg.broker.shards ? cfg.broker.shards : std::max(1u, std::thread::hardware_concurrency());
  broker::Shards shards(n);
  shards.start();

  auto b = broker::Broker::open(cfg.broker, shards);
  if (!b.ok()) {
    WLOG_ERROR("app", "cannot start: {}", b.error().message);
    shards.stop();
    return 1;
  }
  kafka::Server kafka_server(**b, cfg.kafka);
  auto st = kafka_server.start();
  if (!st.ok()) {
    WLOG_ERROR("app", "cannot listen for Kafka on {}: {}", cfg.kafka.listen, st.error().message);
    (*b)->shutdown();
    shards.stop();
    return 1;
  }
  amqp::Server amqp_server(**b, cfg.amqp, nullptr, amqp::broker_handler_factory(**b));
  st = amqp_server.start();
  if (!st.ok()) {
    WLOG_ERROR("app", "cannot listen for AMQP on {}: {}", cfg.amqp.listen, st.error().message);
    kafka_server.stop();
    (*b)->shutdown();
    shards.stop();
    return 1;
  }
  stomp::Server stomp_server(**b, cfg.stomp);
  st = stomp_server.start();
  if (!st.ok()) {
    WLOG_ERROR("app", "cannot listen for STOMP on {}: {}", cfg.stomp.listen, st.error().message);
    amqp_server.stop();
    kafka_server.stop();
    (*b)->shutdown();
    shards.stop();
    return 1;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  WLOG_INFO("app", "wharf ready in {} ms: data dir {}, {} shard(s), {} topic(s)", ms, cfg.broker.data_dir, n,
            (*b)->topics().list().size());
  WLOG_INFO("app", "kafka listening on {} (port {})", cfg.kafka.listen, kafka_server.port());
  WLOG_INFO("app", "amqp listening on {} (port {})", cfg.amqp.listen, amqp_server.port());
  WLOG_INFO("app", "stomp listening on {} (port {})", cfg.stomp.listen, stomp_server.port());
  if (stomp_server.ws_port())
    WLOG_INFO("app", "stomp websocket listening on {} (port {})", cfg.stomp.ws_listen, stomp_server.ws_port());

  int sig = 0;
  sigwait(&sigs, &sig);
  WLOG_INFO("app", "{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  stomp_server.stop();
  amqp_server.stop();
  kafka_server.stop();
  (*b)->shutdown();
  shards.stop();
  WLOG_INFO("app", "stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace wharf::app;
  CLI::App app{"Wharf: one broker for Kafka, AMQP 0-9-1 and STOMP clients"};
  app.require_subcommand(1);
  AppConfig cfg;
  std::string config_file;

  auto* serve_cmd = app.add_subcommand("serve", "Run the broker in the foreground (SIGTERM/SIGINT stop it cleanly)");
  serve_cmd->add_option("--config", config_file, "TOML file with any of the keys below (see `wharf config`)");
  // Every config key is also a flag; flags override the file.
  std::vector<std::pair<const ConfigKey*, std::string>> flag_values;
  flag_values.reserve(config_keys().size());
  for (auto& k : config_keys()) {
    flag_values.emplace_back(&k, std::string());
    serve_cmd->add_option("--" + flag_name(k.key), flag_values.back().second,
                          k.help + " [default: " + k.get(AppConfig{}) + "]");
  }
  app.add_subcommand("config", "Print the default configuration as TOML")->callback([] {
    std::cout << default_toml();
  });
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "wharf " << wharf::kWharfVersion << "\n";
  });

  AdminCli admin(app);  // user, vhost, permissions

  CLI11_PARSE(app, argc, argv);
  if (admin.chosen()) return admin.run();
  if (!serve_cmd->parsed()) return 0;
  try {
    if (!config_file.empty()) load_toml(config_file, cfg);
    for (auto& [k, v] : flag_values) {
      if (serve_cmd->count("--" + flag_name(k->key)) == 0) continue;
      if (!k->set(cfg, v)) throw std::runtime_error("invalid value '" + v + "' for --" + flag_name(k->key));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wharf: %s\n", e.what());
    return 2;
  }
  return serve(std::move(cfg));
}
