// The stored form of a queue message: it must round-trip every property and
// header type, and be a plain Kafka record that a Kafka client can read
// (routing key as key, body as value, properties as readable headers).
#include "broker/queue/message_codec.h"

#include <gtest/gtest.h>

#include "storage/record_batch.h"

namespace wharf::broker::queue {
namespace {

Message full_message() {
  Message m;
  m.exchange = "orders";
  m.routing_key = "eu.new";
  Properties& p = m.props;
  p.content_type = "application/json";
  p.content_encoding = "gzip";
  p.delivery_mode = kDeliveryModePersistent;
  p.priority = 7;
  p.correlation_id = "corr-1";
  p.reply_to = "amq.rabbitmq.reply-to";
  p.expiration_ms = 60000;
  p.message_id = "m-42";
  p.timestamp = 1700000000;
  p.type = "created";
  p.user_id = "guest";
  p.app_id = "shop";
  m.headers.add("text", "hello");
  m.headers.add("count", int64_t(-5));
  m.headers.add("ratio", 0.125);
  m.headers.add("flag", true);
  m.headers.add("nothing", Value());
  m.headers.add("raw", Bytes{std::string("\0\1\2", 3)});
  m.headers.add("when", Timestamp{1234});
  m.headers.add("price", Decimal{2, 12345});
  List l;
  l.items = {Value(1), Value("two"), Value(Table{}), Value(Decimal{3, -5})};
  m.headers.add("list", std::move(l));
  Table t;
  t.add("inner", 3.5);
  t.add("inner", "duplicate names are kept");
  t.add("amount", Decimal{0, 7});
  m.headers.add("table", std::move(t));
  m.headers.add("wharf.priority", "an application header that looks like ours");
  m.headers.add("text", "second text");  // duplicates keep their order
  DeathRecord d;
  d.queue = "q0";
  d.reason = DeathReason::kExpired;
  d.count = 2;
  d.exchange = "orders";
  d.routing_keys = {"eu.new"};
  d.time = 1699999999;
  d.original_expiration_ms = 500;
  m.deaths.push_back(d);
  m.body = Body::copy_of(std::string_view("{\"id\": 1}"));
  return m;
}

std::vector<RecordRef> records_of(const std::vector<uint8_t>& batch) {
  std::vector<RecordRef> out;
  EXPECT_TRUE(parse_records(batch, out).ok());
  return out;
}

TEST(MessageCodec, RoundTripsEveryPropertyAndHeaderType) {
  Message m = full_message();
  BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 1700000000123, batch);
  ASSERT_TRUE(storage::validate_batch(batch).ok());
  auto recs = records_of(batch);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].timestamp_ms, 1700000000123);
  auto back = decode_record(recs[0], nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->exchange, m.exchange);
  EXPECT_EQ(back->routing_key, m.routing_key);
  EXPECT_EQ(back->props, m.props);
  EXPECT_EQ(back->headers, m.headers) << to_string(back->headers);
  EXPECT_EQ(back->deaths, m.deaths);
  EXPECT_EQ(back->body.view(), m.body.view());
  EXPECT_EQ(*back, m);
}

TEST(MessageCodec, IsAPlainKafkaRecord) {
  Message m = full_message();
  BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 42, batch);
  auto h = storage::parse_batch_header(batch);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->records_count, 1);
  EXPECT_EQ(h->compression(), 0);
  EXPECT_EQ(h->max_timestamp, 42);
  EXPECT_EQ(h->producer_id, -1);
  auto recs = records_of(batch);
  ASSERT_EQ(recs.size(), 1u);
  auto sv = [](std::span<const uint8_t> s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); };
  EXPECT_EQ(sv(recs[0].key), "eu.new");
  EXPECT_EQ(sv(recs[0].value), "{\"id\": 1}");
  // Walk the raw headers as a Kafka client would and look at a few.
  std::map<std::string, std::string> seen;
  size_t pos = 0;
  auto b = recs[0].headers;
  auto varint = [&] {
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
      uint8_t c = b[pos++];
      v |= uint64_t(c & 0x7f) << s;
      if (!(c & 0x80)) break;
    }
    return int64_t(v >> 1) ^ -int64_t(v & 1);
  };
  for (int64_t i = 0; i < recs[0].header_count; ++i) {
    int64_t kl = varint();
    std::string k = sv(b.subspan(pos, size_t(kl)));
    pos += size_t(kl);
    int64_t vl = varint();
    std::string v = vl < 0 ? "<null>" : sv(b.subspan(pos, size_t(vl)));
    if (vl > 0) pos += size_t(vl);
    if (!seen.count(k)) seen[k] = v;
  }
  EXPECT_EQ(pos, b.size());
  EXPECT_EQ(seen["wharf.content-type"], "application/json");
  EXPECT_EQ(seen["wharf.delivery-mode"], "2");
  EXPECT_EQ(seen["wharf.priority"], "7");
  EXPECT_EQ(seen["wharf.expiration"], "60000");
  EXPECT_EQ(seen["text"], "hello");
  EXPECT_EQ(seen["count"], "-5");
  EXPECT_EQ(seen["flag"], "true");
  EXPECT_EQ(seen["nothing"], "<null>");
  EXPECT_EQ(seen["price"], "123.45");  // exact text; wharf.types keeps the decimal type
  EXPECT_EQ(seen["wharf.h.wharf.priority"], "an application header that looks like ours");
}

TEST(MessageCodec, KafkaProducedHeadersReadAsText) {
  // A record as a Kafka producer writes it: null key, headers without wharf.types.
  Message m;
  m.headers.add("trace-id", "abc");
  m.headers.add("empty", Value());  // a null header value
  m.body = Body::copy_of(std::string_view("v"));
  BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 1, batch);
  auto recs = records_of(batch);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].key_null);  // empty routing key is a null Kafka key
  auto back = decode_record(recs[0], nullptr);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->routing_key, "");
  EXPECT_EQ(back->headers, m.headers);
  EXPECT_FALSE(back->props.delivery_mode.has_value());
}

TEST(MessageCodec, MalformedValuesAreErrorsNotCrashes) {
  std::vector<uint8_t> junk = {'A', 0xff, 0xff, 0xff, 0xff};  // a list claiming 4 billion items
  EXPECT_EQ(decode_value(junk).code(), Errc::kCorrupt);
  std::vector<uint8_t> deep;
  for (int i = 0; i < 100; ++i) deep.insert(deep.end(), {'A', 0, 0, 0, 1});
  deep.push_back('V');
  EXPECT_EQ(decode_value(deep).code(), Errc::kCorrupt);
  std::vector<uint8_t> unknown = {'?'};
  EXPECT_EQ(decode_value(unknown).code(), Errc::kCorrupt);
  std::vector<uint8_t> truncated = {'S', 0, 0, 0, 9, 'a'};
  EXPECT_EQ(decode_value(truncated).code(), Errc::kCorrupt);
}

// Decimals at the edges of scale and digits come back with the same scale and
// digits, both as record headers (text) and in the binary value encoding.
TEST(MessageCodec, DecimalsRoundTripExactly) {
  const std::vector<Decimal> cases = {
      {0, 0}, {0, 7}, {0, -7}, {2, 12345}, {2, 12300}, {3, -5}, {5, 1}, {9, INT32_MAX},
      {0, INT32_MIN}, {4, INT32_MIN}, {255, 1}, {255, -1}, {255, 0}};
  Message m;
  for (size_t i = 0; i < cases.size(); ++i) m.headers.add("d" + std::to_string(i), cases[i]);
  m.headers.add("nested", List{std::vector<Value>(cases.begin(), cases.end())});
  BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 1, batch);
  auto recs = records_of(batch);
  ASSERT_EQ(recs.size(), 1u);
  auto back = decode_record(recs[0], nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->headers, m.headers) << to_string(back->headers);
  for (const auto& d : cases) {
    std::string enc_value;
    encode_value(Value(d), enc_value);
    auto v = decode_value(std::span(reinterpret_cast<const uint8_t*>(enc_value.data()), enc_value.size()));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, Value(d)) << to_string(*v);
  }
}

TEST(MessageCodec, DecimalTextIsExact) {
  EXPECT_EQ(decimal_text({2, 12345}), "123.45");
  EXPECT_EQ(decimal_text({2, 12300}), "123.00");  // trailing zeros carry the scale
  EXPECT_EQ(decimal_text({3, -5}), "-0.005");
  EXPECT_EQ(decimal_text({0, 7}), "7");
  EXPECT_EQ(decimal_text({0, INT32_MIN}), "-2147483648");
  EXPECT_EQ(decimal_text({1, 0}), "0.0");
  EXPECT_EQ(parse_decimal_text("0042.10"), (Decimal{2, 4210}));
  EXPECT_EQ(parse_decimal_text("-0"), (Decimal{0, 0}));
  EXPECT_EQ(parse_decimal_text(std::string("0.") + std::string(254, '0') + "9"), (Decimal{255, 9}));
  for (std::string_view bad : {"", "-", ".5", "1.", "1.2.3", "+1", " 1", "1e5", "0x10", "2147483648",
                               "-2147483649", "99999999999999999999"}) {
    EXPECT_FALSE(parse_decimal_text(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_decimal_text(std::string("0.") + std::string(256, '1')).has_value());  // scale > 255
}

// A record whose wharf.types says 'D' but whose value is not decimal text is
// corrupt, as for every other typed letter; a truncated binary 'D' too.
TEST(MessageCodec, MalformedDecimalsAreCorrupt) {
  Message m;
  m.headers.add("a", "1.");
  m.headers.add("b", int64_t(1));  // makes the encoder write wharf.types "Sl"
  BatchEncoder enc;
  std::vector<uint8_t> batch;
  enc.encode(m, 1, batch);
  std::string_view raw(reinterpret_cast<const char*>(batch.data()), batch.size());
  size_t at = raw.find("Sl");
  ASSERT_NE(at, std::string_view::npos);
  batch[at] = 'D';
  storage::update_batch_crc(batch);
  auto recs = records_of(batch);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(decode_record(recs[0], nullptr).code(), Errc::kCorrupt);
  std::vector<uint8_t> truncated = {'D', 2, 0, 0, 0};
  EXPECT_EQ(decode_value(truncated).code(), Errc::kCorrupt);
}

TEST(MessageCodec, DeathHistoryFollowsRabbitMqRules) {
  Message m;
  m.exchange = "e";
  m.routing_key = "k";
  m.props.expiration_ms = 100;
  record_death(m, "a", DeathReason::kExpired, 10);
  EXPECT_FALSE(m.props.expiration_ms.has_value());  // would fire again in the next queue
  record_death(m, "b", DeathReason::kRejected, 20);
  record_death(m, "a", DeathReason::kExpired, 30);
  ASSERT_EQ(m.deaths.size(), 2u);
  EXPECT_EQ(m.deaths[0].queue, "a");  // bumped entry moves to the front
  EXPECT_EQ(m.deaths[0].count, 2);
  EXPECT_EQ(m.deaths[0].time, 10);
  EXPECT_EQ(m.deaths[0].original_expiration_ms, 100);
  EXPECT_EQ(m.deaths[1].queue, "b");
  EXPECT_EQ(m.deaths[1].routing_keys, std::vector<std::string>{"k"});
  EXPECT_EQ(deaths_from_value(deaths_to_value(m.deaths)), m.deaths);
}

}  // namespace
}  // namespace wharf::broker::queue
