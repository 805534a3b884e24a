// AMQP field values <-> the broker's value types: what a queued message's
// headers keep. Decimals must come back exactly (scale and digits), after the
// message has also gone through its stored form, and must reach a headers
// exchange's matching as decimals when the broker re-routes a stored message.
#include "amqp/handler/value_convert.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "broker/header_values.h"
#include "broker/queue/message_codec.h"
#include "broker/routing/headers_match.h"

namespace wharf::amqp {
namespace {

namespace queue = broker::queue;
namespace routing = broker::routing;

FieldTable decimals() {
  FieldTable t;
  t.set("price", Decimal{2, 12345});
  t.set("whole", Decimal{0, 7});
  t.set("tiny", Decimal{9, -1});
  t.set("edge", Decimal{255, INT32_MIN});
  FieldArray a;
  a.values = {Decimal{1, 15}, FieldValue(std::string("text"))};
  t.set("array", std::move(a));
  FieldTable inner;
  inner.set("amount", Decimal{3, 1000});
  t.set("table", std::move(inner));
  return t;
}

TEST(ValueConvert, DecimalsStayDecimals) {
  FieldTable t = decimals();
  queue::Table q = to_queue(t);
  const queue::Value* price = q.find("price");
  ASSERT_NE(price, nullptr);
  ASSERT_TRUE(price->is<queue::Decimal>()) << queue::to_string(*price);
  EXPECT_EQ(*price->get_if<queue::Decimal>(), (queue::Decimal{2, 12345}));
  EXPECT_EQ(from_queue(q), t);
}

TEST(ValueConvert, DecimalsSurviveTheStoredForm) {
  queue::Message m;
  m.headers = to_queue(decimals());
  queue::BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 1, batch);
  std::vector<queue::RecordRef> recs;
  ASSERT_TRUE(queue::parse_records(batch, recs).ok());
  ASSERT_EQ(recs.size(), 1u);
  auto back = queue::decode_record(recs[0], nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(from_queue(back->headers), decimals());
}

TEST(ValueConvert, OtherTypesKeepTheirWidening) {
  // The decimal alternative does not change what the rest becomes.
  FieldTable t;
  t.set("i8", int8_t(-3));
  t.set("u32", uint32_t(4000000000u));
  t.set("f", 1.5f);
  t.set("s", "x");
  t.set("ts", Timestamp{17});
  t.set("v", Void{});
  FieldTable wide;
  wide.set("i8", int64_t(-3));
  wide.set("u32", int64_t(4000000000u));
  wide.set("f", 1.5);
  wide.set("s", "x");
  wide.set("ts", Timestamp{17});
  wide.set("v", Void{});
  EXPECT_EQ(from_queue(to_queue(t)), wide);
}

TEST(ValueConvert, StoredDecimalsMatchDecimalBindings) {
  // A dead-lettered message is re-routed from its stored headers: a headers
  // binding on a decimal must match it as it matched the published message.
  queue::Table stored = to_queue(decimals());
  routing::Table headers = broker::routing_table_of(stored);
  EXPECT_EQ(headers, to_routing(decimals()));
  routing::Table args;
  args.entries.push_back({"price", routing::Decimal{2, 12345}});
  auto pattern = routing::HeadersPattern::compile(args);
  ASSERT_TRUE(pattern.ok());
  std::vector<const routing::TableEntry*> sorted;
  routing::sort_headers(&headers, &sorted);
  EXPECT_TRUE(pattern->matches(sorted));
}

}  // namespace
}  // namespace wharf::amqp
