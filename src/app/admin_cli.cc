#include "app/admin_cli.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/logging.h"
#include "broker/config.h"
#include "broker/data_dir_lock.h"
#include "broker/routing/registry.h"

namespace wharf::app {

namespace {

using broker::routing::Registry;

// BSD sysexits, as rabbitmqctl uses them.
constexpr int kExitOk = 0;
constexpr int kExitDataErr = 65;
constexpr int kExitNoUser = 67;
constexpr int kExitUnavailable = 69;
constexpr int kExitSoftware = 70;
constexpr int kExitIoErr = 74;

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

int fail(int code, const std::string& message) {
  std::cerr << "Error:\n" << message << "\n";
  return code;
}

// The password from standard input: one line, without its line break. On a
// terminal the user is prompted and the typing is not echoed.
bool read_password(std::string* out) {
  const bool tty = ::isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::cerr << "Password: " << std::flush;
    if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~tcflag_t(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
  }
  const bool got = bool(std::getline(std::cin, *out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return got;
}

std::string tags_text(const std::vector<std::string>& tags) {
  std::string s = "[";
  for (size_t i = 0; i < tags.size(); ++i) s += (i ? ", " : "") + tags[i];
  return s + "]";
}

}  // namespace

struct AdminCli::Options {
  using Action = int (Options::*)(Registry&);

  std::string data_dir = broker::BrokerConfig{}.data_dir;
  bool quiet = false;
  std::string name;      // user or vhost
  std::string password;
  bool password_given = false;  // on the command line; else read from stdin
  std::vector<std::string> tags;
  bool loopback_only = false;
  std::string vhost = std::string(broker::routing::kDefaultVhost);
  bool vhost_given = false;
  std::string configure, write, read;
  Action action = nullptr;

  void banner(const std::string& text) const {
    if (!quiet) std::cout << text << " ...\n";
  }
  void header(const std::string& text) const {
    if (!quiet) std::cout << text << "\n";
  }

  // Opens the registry under the data dir's lock, runs the action, flushes.
  int run() {
    logging::init("warn");  // the registry's info lines are not for this output
    auto lock = broker::DataDirLock::acquire(data_dir);
    if (!lock.ok()) {
      if (lock.code() == Errc::kAlreadyExists) {
        return fail(kExitUnavailable, "unable to edit data dir " + in_quotes(data_dir) +
                                          ": a running broker holds it (" + data_dir + "/" +
                                          broker::DataDirLock::kFileName +
                                          "). These commands work offline: stop the broker first.");
      }
      return fail(kExitIoErr, lock.error().message);
    }
    broker::routing::RegistryOptions ro;  // as Broker::open, minus the shards
    ro.meta_dir = data_dir + "/meta";
    auto reg = Registry::open(ro);
    if (!reg.ok()) return fail(kExitIoErr, "cannot read " + ro.meta_dir + ": " + reg.error().message);
    const int code = (this->*action)(**reg);
    if (auto st = (*reg)->flush(); !st.ok()) {
      return fail(kExitIoErr, "cannot write " + ro.meta_dir + ": " + st.error().message);
    }
    return code;
  }

  bool get_password() {
    if (!password_given && !read_password(&password)) password.clear();
    if (password.empty()) {
      fail(kExitDataErr, "no password given (as an argument or on standard input); a user without a password "
                         "cannot log in");
      return false;
    }
    return true;
  }

  int user_add(Registry& r) {
    banner("Adding user " + in_quotes(name));
    if (!get_password()) return kExitDataErr;
    auto st = r.add_user(name, password, tags, loopback_only);
    if (st.code() == Errc::kAlreadyExists) return fail(kExitSoftware, "User " + in_quotes(name) + " already exists");
    if (!st.ok()) return fail(kExitDataErr, st.error().message);
    if (!quiet) std::cout << "Done. Grant the user permissions on a vhost: wharf permissions set --help\n";
    return kExitOk;
  }

  int user_delete(Registry& r) {
    banner("Deleting user " + in_quotes(name));
    auto st = r.delete_user(name);
    if (st.code() == Errc::kNotFound) return fail(kExitNoUser, "User " + in_quotes(name) + " does not exist");
    return st.ok() ? kExitOk : fail(kExitSoftware, st.error().message);
  }

  int user_passwd(Registry& r) {
    banner("Changing password for user " + in_quotes(name));
    if (!r.find_user(name).ok()) return fail(kExitNoUser, "User " + in_quotes(name) + " does not exist");
    if (!get_password()) return kExitDataErr;
    auto st = r.set_password(name, password);
    return st.ok() ? kExitOk : fail(kExitSoftware, st.error().message);
  }

  int user_list(Registry& r) {
    banner("Listing users");
    header("user\ttags\tloopback_only");
    for (auto& u : r.list_users()) {
      std::cout << u.name << "\t" << tags_text(u.tags) << "\t" << (u.loopback_only ? "true" : "false") << "\n";
    }
    return kExitOk;
  }

  int vhost_add(Registry& r) {
    banner("Adding vhost " + in_quotes(name));
    auto st = r.create_vhost(name);
    if (st.code() == Errc::kAlreadyExists) return kExitOk;  // idempotent, as rabbitmqctl
    return st.ok() ? kExitOk : fail(kExitDataErr, st.error().message);
  }

  int vhost_delete(Registry& r) {
    banner("Deleting vhost " + in_quotes(name));
    auto gone = r.delete_vhost(name);
    if (gone.code() == Errc::kNotFound) return fail(kExitDataErr, "Virtual host " + in_quotes(name) + " does not exist");
    if (!gone.ok()) return fail(kExitSoftware, gone.error().message);
    if (!quiet && !gone->empty()) std::cout << gone->size() << " queue definition(s) were deleted with it\n";
    return kExitOk;
  }

  int vhost_list(Registry& r) {
    banner("Listing vhosts");
    header("name");
    for (auto& v : r.list_vhosts()) std::cout << v << "\n";
    return kExitOk;
  }

  // The Registry says kNotFound for a missing user and a missing vhost
  // alike; rabbitmqctl names which one.
  int missing_user_or_vhost(Registry& r) {
    if (!r.find_user(name).ok()) return fail(kExitNoUser, "User " + in_quotes(name) + " does not exist");
    return fail(kExitDataErr, "Virtual host " + in_quotes(vhost) + " does not exist");
  }

  int permissions_set(Registry& r) {
    banner("Setting permissions for user " + in_quotes(name) + " in vhost " + in_quotes(vhost));
    auto st = r.set_permissions(name, vhost, configure, write, read);
    if (st.code() == Errc::kNotFound) return missing_user_or_vhost(r);
    return st.ok() ? kExitOk : fail(kExitDataErr, st.error().message);
  }

  int permissions_clear(Registry& r) {
    banner("Clearing permissions for user " + in_quotes(name) + " in vhost " + in_quotes(vhost));
    if (!r.find_user(name).ok() || !r.has_vhost(vhost)) return missing_user_or_vhost(r);
    auto st = r.clear_permissions(name, vhost);
    // None to clear is done already, as in rabbitmqctl.
    return st.ok() || st.code() == Errc::kNotFound ? kExitOk : fail(kExitSoftware, st.error().message);
  }

  int permissions_list(Registry& r) {
    if (vhost_given && !r.has_vhost(vhost)) {
      return fail(kExitDataErr, "Virtual host " + in_quotes(vhost) + " does not exist");
    }
    banner(vhost_given ? "Listing permissions for vhost " + in_quotes(vhost) : "Listing permissions of every vhost");
    header("user\tvhost\tconfigure\twrite\tread");
    for (auto& p : r.list_permissions()) {
      if (vhost_given && p.vhost != vhost) continue;
      std::cout << p.user << "\t" << p.vhost << "\t" << p.configure << "\t" << p.write << "\t" << p.read << "\n";
    }
    return kExitOk;
  }
};

AdminCli::AdminCli(CLI::App& app) : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  auto leaf = [&o](CLI::App* parent, const std::string& name, const std::string& help, Options::Action action) {
    CLI::App* c = parent->add_subcommand(name, help);
    c->add_option("--data-dir", o.data_dir, "The broker's data directory (the broker must not be running)")
        ->capture_default_str();
    c->add_flag("-q,--quiet", o.quiet, "Print rows only: no banner, no table header");
    c->callback([&o, action] { o.action = action; });
    return c;
  };
  const std::string offline = " (offline: the broker must not be running on the data dir)";

  CLI::App* user = app.add_subcommand("user", "Manage users" + offline);
  user->require_subcommand(1);
  CLI::App* c = leaf(user, "add", "Add a user", &Options::user_add);
  c->add_option("name", o.name, "User name")->required();
  c->add_option("password", o.password, "Password; read from standard input when left out")
      ->each([&o](const std::string&) { o.password_given = true; });
  c->add_option("--tags", o.tags, "Comma-separated tags, e.g. administrator,monitoring")->delimiter(',');
  c->add_flag("--loopback-only", o.loopback_only, "The user may connect from loopback addresses only (as guest)");
  c = leaf(user, "delete", "Delete a user and all its permissions", &Options::user_delete);
  c->add_option("name", o.name, "User name")->required();
  c = leaf(user, "passwd", "Change a user's password", &Options::user_passwd);
  c->add_option("name", o.name, "User name")->required();
  c->add_option("password", o.password, "New password; read from standard input when left out")
      ->each([&o](const std::string&) { o.password_given = true; });
  leaf(user, "list", "List users, their tags and whether they are loopback-only", &Options::user_list);

  CLI::App* vhost = app.add_subcommand("vhost", "Manage virtual hosts" + offline);
  vhost->require_subcommand(1);
  c = leaf(vhost, "add", "Add a virtual host (with the built-in exchanges; no permissions yet)", &Options::vhost_add);
  c->add_option("name", o.name, "Virtual host name")->required();
  c = leaf(vhost, "delete", "Delete a virtual host with its exchanges, queues, bindings and permissions",
           &Options::vhost_delete);
  c->add_option("name", o.name, "Virtual host name")->required();
  leaf(vhost, "list", "List virtual hosts", &Options::vhost_list);

  CLI::App* perms = app.add_subcommand("permissions", "Manage users' permissions on virtual hosts" + offline);
  perms->require_subcommand(1);
  auto vhost_opt = [&o](CLI::App* cmd, const std::string& help) {
    cmd->add_option("-p,--vhost", o.vhost, help)->capture_default_str()->each([&o](const std::string&) {
      o.vhost_given = true;
    });
  };
  c = leaf(perms, "set",
           "Set a user's configure, write and read permissions on a vhost: regular expressions matched against "
           "exchange and queue names (\".*\" all, \"\" none)",
           &Options::permissions_set);
  vhost_opt(c, "Virtual host");
  c->add_option("user", o.name, "User name")->required();
  c->add_option("configure", o.configure, "Expression for declaring and deleting")->required();
  c->add_option("write", o.write, "Expression for publishing and binding to")->required();
  c->add_option("read", o.read, "Expression for consuming, getting, purging and binding from")->required();
  c = leaf(perms, "clear", "Remove a user's permissions on a vhost", &Options::permissions_clear);
  vhost_opt(c, "Virtual host");
  c->add_option("user", o.name, "User name")->required();
  c = leaf(perms, "list", "List permissions (of one vhost with --vhost)", &Options::permissions_list);
  vhost_opt(c, "Only this virtual host");
}

AdminCli::~AdminCli() = default;

bool AdminCli::chosen() const { return o_->action != nullptr; }

int AdminCli::run() { return o_->run(); }

}  // namespace wharf::app
