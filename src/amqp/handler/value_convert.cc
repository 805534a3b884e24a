#include "amqp/handler/value_convert.h"

#include <string>
#include <type_traits>

namespace wharf::amqp {

namespace routing = broker::routing;
namespace queue = broker::queue;

routing::Value to_routing(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> routing::Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Decimal>) {
          return routing::Decimal{x.scale, x.value};
        } else if constexpr (std::is_same_v<T, ByteArray>) {
          return routing::Bytes{std::string(x.bytes.begin(), x.bytes.end())};
        } else if constexpr (std::is_same_v<T, FieldArray>) {
          routing::Array a;
          a.values.reserve(x.values.size());
          for (const auto& e : x.values) a.values.push_back(to_routing(e));
          return a;
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return routing::Timestamp{x.seconds};
        } else if constexpr (std::is_same_v<T, FieldTable>) {
          return to_routing(x);
        } else if constexpr (std::is_same_v<T, Void>) {
          return routing::Void{};
        } else {
          return x;  // bool, integers, float, double, std::string
        }
      },
      v.v);
}

routing::Table to_routing(const FieldTable& t) {
  routing::Table out;
  out.entries.reserve(t.entries.size());
  for (const auto& e : t.entries) out.entries.push_back({e.name, to_routing(e.value)});
  return out;
}

queue::Value to_queue(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> queue::Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_integral_v<T>) {
          return int64_t(x);
        } else if constexpr (std::is_floating_point_v<T>) {
          return double(x);
        } else if constexpr (std::is_same_v<T, Decimal>) {
          return queue::Decimal{x.scale, x.value};
        } else if constexpr (std::is_same_v<T, ByteArray>) {
          return queue::Bytes{std::string(x.bytes.begin(), x.bytes.end())};
        } else if constexpr (std::is_same_v<T, FieldArray>) {
          queue::List l;
          l.items.reserve(x.values.size());
          for (const auto& e : x.values) l.items.push_back(to_queue(e));
          return l;
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return queue::Timestamp{int64_t(x.seconds)};
        } else if constexpr (std::is_same_v<T, FieldTable>) {
          return to_queue(x);
        } else {
          return queue::Null{};
        }
      },
      v.v);
}

queue::Table to_queue(const FieldTable& t) {
  queue::Table out;
  out.fields.reserve(t.entries.size());
  for (const auto& e : t.entries) out.fields.push_back({e.name, to_queue(e.value)});
  return out;
}

FieldValue from_queue(const queue::Value& v) {
  return std::visit(
      [](const auto& x) -> FieldValue {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, queue::Null>) {
          return Void{};
        } else if constexpr (std::is_same_v<T, queue::Bytes>) {
          return ByteArray{std::vector<uint8_t>(x.data.begin(), x.data.end())};
        } else if constexpr (std::is_same_v<T, queue::Timestamp>) {
          return Timestamp{uint64_t(x.seconds)};
        } else if constexpr (std::is_same_v<T, queue::Decimal>) {
          return Decimal{x.scale, x.value};
        } else if constexpr (std::is_same_v<T, queue::List>) {
          FieldArray a;
          a.values.reserve(x.items.size());
          for (const auto& e : x.items) a.values.push_back(from_queue(e));
          return a;
        } else if constexpr (std::is_same_v<T, queue::Table>) {
          return from_queue(x);
        } else {
          return x;  // bool, int64_t, double, std::string
        }
      },
      v.v);
}

FieldTable from_queue(const queue::Table& t) {
  FieldTable out;
  out.entries.reserve(t.fields.size());
  for (const auto& f : t.fields) out.entries.push_back({f.name, from_queue(f.value)});
  return out;
}

}  // namespace wharf::amqp
