// RouteResult: where Registry::route() sends one message, plus the working
// memory of the routing walk. Keep one per channel, session or shard and pass
// it to every route() call: its vectors keep their capacity and its strings
// theirs, so routing a message allocates nothing once warm.
//
// Ownership: the destinations are copies (names included), valid until the
// next route() into the same RouteResult; nothing points into the registry.
//
// Thread rules: one thread at a time per RouteResult.
#pragma once

#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "broker/routing/binding.h"
#include "broker/routing/topic_trie.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

class Exchange;

// A set of pointers that is a flat vector while small (no allocation after
// warm-up in the common case) and a hash set once large.
template <class T>
class SmallPtrSet {
 public:
  void clear() {
    small_.clear();
    big_.clear();
  }
  // True when `p` was not in the set (and is now).
  bool insert(const T* p) {
    if (!big_.empty()) return big_.insert(p).second;
    for (const T* q : small_)
      if (q == p) return false;
    if (small_.size() < kLinear) {
      small_.push_back(p);
      return true;
    }
    big_.insert(small_.begin(), small_.end());
    return big_.insert(p).second;
  }

 private:
  static constexpr size_t kLinear = 16;
  std::vector<const T*> small_;
  std::unordered_set<const T*> big_;
};

struct Destination {
  DestKind kind = DestKind::kQueue;  // kQueue or kTopic; exchanges are walked, never returned
  std::string name;
};

class RouteResult {
 public:
  // Each queue and each Kafka topic at most once, in no particular order.
  std::span<const Destination> destinations() const { return {dests_.data(), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The exchange published to is an x-delayed-message exchange (the
  // destinations are where it routes now, as its x-delayed-type).
  bool delayed_exchange() const { return delayed_; }

 private:
  friend class Registry;

  void reset() {
    size_ = 0;
    nodes_.clear();
    reached_.clear();
    work_.clear();
    headers_sorted_ = false;
    delayed_ = false;
  }
  // Adds `n` unless already added since reset().
  void add(const Node* n) {
    if (!nodes_.insert(n)) return;
    if (size_ == dests_.size()) dests_.emplace_back();
    dests_[size_].kind = n->kind;
    dests_[size_].name.assign(n->name);  // reuses the string's capacity
    ++size_;
  }

  std::vector<Destination> dests_;  // [0, size_) are live; the rest keep capacity
  size_t size_ = 0;

  SmallPtrSet<Node> nodes_;           // destinations added: de-duplication
  SmallPtrSet<Exchange> reached_;     // exchanges reached: the cycle guard
  std::vector<const Exchange*> work_;  // exchanges still to route through
  std::vector<const TableEntry*> headers_;
  bool headers_sorted_ = false;
  bool delayed_ = false;
  TopicScratch topic_;
};

}  // namespace wharf::broker::routing
