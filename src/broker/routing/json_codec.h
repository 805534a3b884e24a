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
// Writing appends text directly (no DOM: the metadata log is on the declare
// path, and building nlohmann objects cost more than the rest of a declare);
// reading goes through nlohmann::json.
//
// Thread rules: pure functions. The from_json functions never throw.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

void write_text(std::string* out, std::string_view s);
void write_value(std::string* out, const Value& v);
void write_table(std::string* out, const Table& t);

result<std::string> text_from_json(const nlohmann::json& j);
result<Value> value_from_json(const nlohmann::json& j);
result<Table> table_from_json(const nlohmann::json& j);

// One JSON object, written field by field: JsonObject().text("name", n)
// .boolean("durable", d).str(). Keys are ASCII literals, written unescaped.
class JsonObject {
 public:
  JsonObject& text(std::string_view key, std::string_view v);
  JsonObject& boolean(std::string_view key, bool v);
  JsonObject& number(std::string_view key, uint64_t v);
  JsonObject& table(std::string_view key, const Table& t);
  JsonObject& texts(std::string_view key, const std::vector<std::string>& v);
  std::string str() const { return s_ + "}"; }
  // The fields alone, to be spliced into another object.
  const std::string& fields() const { return s_; }

 private:
  void key(std::string_view k);
  std::string s_ = "{";
};

bool valid_utf8(std::string_view s);

}  // namespace wharf::broker::routing
