#include "broker/header_values.h"

#include <type_traits>

namespace wharf::broker {

routing::Value routing_value_of(const queue::Value& v) {
  return std::visit(
      [](const auto& x) -> routing::Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, queue::Null>) {
          return routing::Void{};
        } else if constexpr (std::is_same_v<T, queue::Bytes>) {
          return routing::Bytes{x.data};
        } else if constexpr (std::is_same_v<T, queue::Timestamp>) {
          return routing::Timestamp{uint64_t(x.seconds)};
        } else if constexpr (std::is_same_v<T, queue::Decimal>) {
          return routing::Decimal{x.scale, x.value};
        } else if constexpr (std::is_same_v<T, queue::List>) {
          routing::Array a;
          a.values.reserve(x.items.size());
          for (const auto& item : x.items) a.values.push_back(routing_value_of(item));
          return a;
        } else if constexpr (std::is_same_v<T, queue::Table>) {
          return routing_table_of(x);
        } else {
          return x;  // bool, int64_t, double, std::string
        }
      },
      v.v);
}

routing::Table routing_table_of(const queue::Table& t) {
  routing::Table out;
  out.entries.reserve(t.fields.size());
  for (const auto& f : t.fields) out.entries.push_back({f.name, routing_value_of(f.value)});
  return out;
}

}  // namespace wharf::broker
