// PermissionCache: one connection's answers from Registry::check, so a
// publisher does not run the permission regexes on every message. Answers
// are valid for one auth generation (Registry::auth_generation(): any
// change to users or permissions starts a new one and empties the cache).
//
// Thread rules: one per connection, used on its shard only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/routing/registry.h"

namespace wharf::broker::routing {

class PermissionCache {
 public:
  // Registry::check(user, vhost, perm, name); `kind` ("queue", "exchange")
  // only keeps the answers for a queue and an exchange of one name apart.
  bool allowed(const Registry& registry, std::string_view user, std::string_view vhost, Perm perm,
               std::string_view kind, std::string_view name) {
    uint64_t gen = registry.auth_generation();
    if (gen != generation_) {
      answers_.clear();
      generation_ = gen;
    }
    std::string key;
    key.reserve(name.size() + 2);
    key.push_back(char('0' + int(perm)));
    key.push_back(kind.empty() ? '-' : kind[0]);
    key.append(name);
    if (auto it = answers_.find(key); it != answers_.end()) return it->second;
    bool ok = registry.check(user, vhost, perm, name);
    if (answers_.size() >= kMaxAnswers) answers_.clear();  // bounded: a client naming endless queues
    answers_.emplace(std::move(key), ok);
    return ok;
  }

 private:
  static constexpr size_t kMaxAnswers = 1024;
  std::unordered_map<std::string, bool> answers_;
  uint64_t generation_ = 0;
};

}  // namespace wharf::broker::routing
