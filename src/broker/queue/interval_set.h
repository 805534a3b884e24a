// IntervalSet: a set of int64 offsets stored as disjoint half-open ranges
// [from, to). A queue keeps its settled (acked, dropped, dead-lettered)
// offsets in one, so memory grows with the number of gaps between settled
// runs (bounded by the messages still outstanding), never with the number of
// messages settled.
//
// Invariant: ranges are non-empty, disjoint and non-adjacent (touching
// ranges are merged), keyed by `from`.
// Thread rules: plain value, no synchronisation.
#pragma once

#include <cstdint>
#include <algorithm>
#include <iterator>
#include <map>

namespace wharf::broker::queue {

class IntervalSet {
 public:
  // Adds [from, to); no-op when to <= from.
  void insert(int64_t from, int64_t to);
  void insert(int64_t x) { insert(x, x + 1); }
  bool contains(int64_t x) const;
  // The smallest y >= x that is not in the set.
  int64_t first_gap(int64_t x) const;
  // Removes every offset < x (resp. >= x).
  void erase_below(int64_t x);
  void erase_from(int64_t x);
  // Number of offsets in [from, to) that are in the set.
  int64_t count_in(int64_t from, int64_t to) const;

  bool empty() const { return ranges_.empty(); }
  size_t range_count() const { return ranges_.size(); }
  void clear() { ranges_.clear(); }

  // Calls fn(from, to) for each range in order.
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& [f, t] : ranges_) fn(f, t);
  }
  // Calls fn(from, to) for each maximal range inside [lo, hi) not in the set.
  template <class F>
  void for_each_gap(int64_t lo, int64_t hi, F&& fn) const {
    int64_t x = lo;
    auto it = ranges_.upper_bound(x);
    if (it != ranges_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > x) x = prev->second;
    }
    for (; x < hi; ++it) {
      int64_t next = it == ranges_.end() ? hi : std::min(hi, it->first);
      if (next > x) fn(x, next);
      if (it == ranges_.end()) break;
      x = std::max(x, it->second);
    }
  }

  bool operator==(const IntervalSet&) const = default;

 private:
  std::map<int64_t, int64_t> ranges_;  // from -> to
};

}  // namespace wharf::broker::queue
