#include "broker/queue/interval_set.h"

#include <algorithm>
#include <iterator>

namespace wharf::broker::queue {

void IntervalSet::insert(int64_t from, int64_t to) {
  if (to <= from) return;
  // Merge with a range that starts before `from` and reaches it.
  auto it = ranges_.upper_bound(from);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= from) {
      if (prev->second >= to) return;  // already covered
      from = prev->first;
      it = prev;
    }
  }
  // Swallow every range that starts within [from, to].
  while (it != ranges_.end() && it->first <= to) {
    to = std::max(to, it->second);
    it = ranges_.erase(it);
  }
  ranges_[from] = to;
}

bool IntervalSet::contains(int64_t x) const {
  auto it = ranges_.upper_bound(x);
  if (it == ranges_.begin()) return false;
  return std::prev(it)->second > x;
}

int64_t IntervalSet::first_gap(int64_t x) const {
  auto it = ranges_.upper_bound(x);
  if (it == ranges_.begin()) return x;
  auto prev = std::prev(it);
  return prev->second > x ? prev->second : x;  // ranges are non-adjacent: prev->second is a gap
}

void IntervalSet::erase_below(int64_t x) {
  auto it = ranges_.begin();
  while (it != ranges_.end() && it->second <= x) it = ranges_.erase(it);
  if (it != ranges_.end() && it->first < x) {
    int64_t to = it->second;
    ranges_.erase(it);
    ranges_[x] = to;
  }
}

void IntervalSet::erase_from(int64_t x) {
  auto it = ranges_.lower_bound(x);
  ranges_.erase(it, ranges_.end());
  if (!ranges_.empty()) {
    auto last = std::prev(ranges_.end());
    if (last->second > x) last->second = x;
  }
}

int64_t IntervalSet::count_in(int64_t from, int64_t to) const {
  int64_t n = 0;
  auto it = ranges_.upper_bound(from);
  if (it != ranges_.begin()) --it;
  for (; it != ranges_.end() && it->first < to; ++it) {
    int64_t a = std::max(from, it->first), b = std::min(to, it->second);
    if (b > a) n += b - a;
  }
  return n;
}

}  // namespace wharf::broker::queue
