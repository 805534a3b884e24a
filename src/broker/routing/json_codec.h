// Lossless JSON for the routing metadata files (see meta_store.h).
//
//   text   a JSON string when it is valid UTF-8, else {"hex": "<bytes>"}
//          (AMQP names are arbitrary bytes; JSON strings must be UTF-8)
//   Value  [tag, payload] with the AMQP tag: ["l", 5], ["S", "x"],
//          ["x", "<hex>"], ["D", [scale, value]], ["T", seconds],
//          ["d", 1.5] (non-finite as "nan", "inf", "-inf"), ["V", null],
//          ["A", [values...]], ["F", table]
//   Table  [[name, Value], ...] in order, duplicates kept
//
// Thread rules: pure functions. The from_json functions never throw.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

nlohmann::json text_to_json(std::string_view s);
result<std::string> text_from_json(const nlohmann::json& j);

nlohmann::json value_to_json(const Value& v);
result<Value> value_from_json(const nlohmann::json& j);

nlohmann::json table_to_json(const Table& t);
result<Table> table_from_json(const nlohmann::json& j);

bool valid_utf8(std::string_view s);

}  // namespace wharf::broker::routing
