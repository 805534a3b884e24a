// Offline administration of a data dir's users, vhosts and permissions:
//
//   wharf user add NAME [PASSWORD] [--tags a,b] [--loopback-only]
//   wharf user delete NAME | passwd NAME [PASSWORD] | list
//   wharf vhost add NAME | delete NAME | list
//   wharf permissions set [--vhost V] USER CONFIGURE WRITE READ
//   wharf permissions clear [--vhost V] USER | list [--vhost V]
//
// each with --data-dir DIR (default ./wharf-data, as `serve`) and -q/--quiet
// (no banner or table header: rows only, tab-separated, for scripts). A
// PASSWORD left out is read from standard input (prompted for, without echo,
// on a terminal), so it need not appear in the process list.
//
// They edit <data_dir>/meta/routing.* through broker::routing::Registry
// while the broker is NOT running: the data dir's lock (DataDirLock) is
// taken first, and a running broker holding it is refused. Changes are
// flushed to disk before the command exits; the broker reads them when it
// starts. On a fresh data dir the registry is created with RabbitMQ's
// defaults (vhost "/", user guest/guest loopback-only), as `serve` would.
//
// Output and errors are worded as rabbitmqctl's ("Adding user \"bob\" ...",
// "Error:\nUser \"bob\" does not exist"), and so are the exit codes (BSD
// sysexits): 0 done, 65 bad data (unknown vhost, bad expression), 67 unknown
// user, 69 the broker is running, 70 already exists, 74 I/O error.
// Re-adding an existing vhost and clearing absent permissions succeed, as
// in rabbitmqctl.
#pragma once

#include <functional>
#include <memory>

#include <CLI/CLI.hpp>

namespace wharf::app {

class AdminCli {
 public:
  // Adds the subcommands `user`, `vhost` and `permissions` to `app`.
  explicit AdminCli(CLI::App& app);
  ~AdminCli();

  // After parsing: whether one of them was chosen, and running it (returns
  // the exit code).
  bool chosen() const;
  int run();

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace wharf::app
