// Users, password hashes and per-vhost permissions, with RabbitMQ's rules.
//
// Passwords are stored as RabbitMQ's rabbit_password_hashing_sha256 stores
// them: base64(salt ++ SHA-256(salt ++ password)) with a random 4-byte salt,
// so a hash exported from RabbitMQ's definitions can be imported as is and
// the reverse. The password itself is never kept.
//
// Permissions are three regular expressions per (user, vhost): configure
// (declare, delete), write (publish to an exchange, bind a queue/exchange as
// destination) and read (consume, get, purge, bind from an exchange). A
// resource is allowed when the expression matches anywhere in its name
// (unanchored search, like RabbitMQ's PCRE re:run); the empty expression
// matches nothing, ".*" matches everything, "^$" only the empty name.
//
// Thread rules: plain values; Permission is immutable after compile() and
// may be used concurrently.
#pragma once

#include <array>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace wharf::broker::routing {

enum class Perm : uint8_t { kConfigure = 0, kWrite = 1, kRead = 2 };
std::string_view perm_name(Perm p);  // "configure", "write", "read"

// A user as the front ends see it (never the hash).
struct User {
  std::string name;
  std::vector<std::string> tags;  // "administrator", "management", ...
  // Like RabbitMQ's loopback_users: may log in only over a loopback
  // interface. The front end knows the peer address and enforces it.
  bool loopback_only = false;

  bool has_tag(std::string_view t) const;
  bool operator==(const User&) const = default;
};

// A fresh salted hash of `password` in RabbitMQ's format.
std::string hash_password(std::string_view password);
// Whether `password` matches `hash` (constant-time comparison). An empty
// password or an empty/malformed hash never matches.
bool verify_password(std::string_view hash, std::string_view password);

// The three expressions of one (user, vhost), compiled once.
class Permission {
 public:
  // kInvalidArgument naming the expression that does not compile.
  static result<Permission> compile(std::string configure, std::string write, std::string read);

  bool allows(Perm p, std::string_view resource) const;
  const std::string& pattern(Perm p) const { return src_[size_t(p)]; }

 private:
  std::array<std::string, 3> src_;
  std::array<std::optional<std::regex>, 3> re_;  // nullopt: "" (matches nothing)
};

// Text encodings used for hashes and generated names.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet, no padding (RabbitMQ's rabbit_guid names).
std::string base64url_encode(std::string_view bytes);
// `n` random bytes from OpenSSL's CSPRNG.
std::string random_bytes(size_t n);

}  // namespace wharf::broker::routing
