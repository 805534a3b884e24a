// Strong types for numbers that must never be mixed up (an offset is not a
// size, a partition is not a shard). Redpanda's model/ habit.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace wharf {

template <class Tag, class T>
struct StrongInt {
  T value{};
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : value(v) {}
  constexpr T operator()() const { return value; }
  constexpr auto operator<=>(const StrongInt&) const = default;
};

using Offset = StrongInt<struct OffsetTag, int64_t>;        // position in a log
using PartitionId = StrongInt<struct PartitionTag, int32_t>;
using ShardId = StrongInt<struct ShardTag, uint32_t>;        // index of a core/thread
using ProducerId = StrongInt<struct ProducerIdTag, int64_t>;
using ProducerEpoch = StrongInt<struct ProducerEpochTag, int16_t>;

}  // namespace wharf

template <class Tag, class T>
struct std::hash<wharf::StrongInt<Tag, T>> {
  size_t operator()(const wharf::StrongInt<Tag, T>& v) const noexcept { return std::hash<T>{}(v.value); }
};
