#include "broker/stream_cursor.h"

#include <gtest/gtest.h>

#include "../storage/records_util.h"
#include "../storage/test_util.h"
#include "broker/partition.h"
#include "broker/queue/message_codec.h"

namespace wharf::broker {

using storage::testing::Framing;
using storage::testing::TempDir;
using storage::testing::TestRecord;

namespace {

struct KafkaRecord {
  std::string key;  // empty: null key
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

void put_bytes(std::vector<uint8_t>& o, std::string_view s) {
  storage::testing::put_varlong(o, int64_t(s.size()));
  o.insert(o.end(), s.begin(), s.end());
}

// The records section a Kafka producer writes: keys and headers included.
std::vector<uint8_t> kafka_section(const std::vector<KafkaRecord>& recs) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    std::vector<uint8_t> body;
    body.push_back(0);
    storage::testing::put_varlong(body, int64_t(i) * 10);  // timestamp delta
    storage::testing::put_varlong(body, int64_t(i));       // offset delta
    if (r.key.empty())
      storage::testing::put_varlong(body, -1);
    else
      put_bytes(body, r.key);
    put_bytes(body, r.value);
    storage::testing::put_varlong(body, int64_t(r.headers.size()));
    for (const auto& [k, v] : r.headers) {
      put_bytes(body, k);
      put_bytes(body, v);
    }
    storage::testing::put_varlong(out, int64_t(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

std::vector<uint8_t> kafka_batch(const std::vector<KafkaRecord>& recs, const Framing& f, int64_t base_ts = 1000) {
  std::vector<TestRecord> shape;
  for (size_t i = 0; i < recs.size(); ++i) shape.push_back({int64_t(i) * 10, int64_t(i), ""});
  return storage::testing::batch_with_section(shape, base_ts, f.codec, f.compress(kafka_section(recs)));
}

std::vector<KafkaRecord> numbered(int n, const std::string& prefix) {
  std::vector<KafkaRecord> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        {prefix + "-key-" + std::to_string(i), prefix + " value " + std::to_string(i), {{"seq", std::to_string(i)}}});
  return out;
}

class StreamCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Partition::open(storage::Env::posix(), dir_.sub("t-0"), "t", 0, storage::LogConfig{}, 1 << 20);
    ASSERT_TRUE(p.ok());
    part_ = *p;
  }
  void TearDown() override { (void)part_->close(); }

  int64_t append(std::vector<uint8_t> batch) {
    auto out = part_->append(batch, 0);
    EXPECT_EQ(out.err, Errc::kOk) << out.message;
    return out.base_offset;
  }
  int64_t append_message(const queue::Message& m, int64_t ts = 5000) {
    std::vector<uint8_t> b;
    encoder_.encode(m, ts, b);
    return append(std::move(b));
  }
  // Everything from `next` on, `step` records per read.
  std::vector<StreamRecord> read_all(StreamCursor& c, int64_t next, size_t step = 1000) {
    std::vector<StreamRecord> out;
    for (;;) {
      auto n = c.read(part_->log(), next, step, out);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      EXPECT_LE(*n, step);
    }
    EXPECT_EQ(next, part_->log().end_offset().value);
    return out;
  }
  std::vector<int64_t> offsets(const std::vector<StreamRecord>& rs) {
    std::vector<int64_t> out;
    for (const auto& r : rs) out.push_back(r.offset);
    return out;
  }

  TempDir dir_;
  std::shared_ptr<Partition> part_;
  queue::BatchEncoder encoder_;
};

}  // namespace

TEST_F(StreamCursorTest, AmqpMessagesComeBackWhole) {
  queue::Message m;
  m.exchange = "shop";
  m.routing_key = "order.created";
  m.props.content_type = "text/plain";
  m.props.delivery_mode = 2;
  m.headers.fields.push_back({"n", queue::Value(int64_t(7))});
  m.body = queue::Body::copy_of(std::string_view("order 1"));
  append_message(m, 1234);
  m.body = queue::Body::copy_of(std::string_view("order 2"));
  append_message(m, 1235);

  StreamCursor c;
  auto rs = read_all(c, 0);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(offsets(rs), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(rs[0].timestamp_ms, 1234);
  EXPECT_EQ(rs[1].message.body.view(), "order 2");
  EXPECT_EQ(rs[1].message.exchange, "shop");
  EXPECT_EQ(rs[1].message.routing_key, "order.created");
  EXPECT_EQ(rs[1].message.props.content_type, "text/plain");
  EXPECT_EQ(rs[1].message.props.delivery_mode, 2);
  ASSERT_EQ(rs[1].message.headers.fields.size(), 1u);
  EXPECT_EQ(rs[1].message.headers.fields[0].value, queue::Value(int64_t(7)));
}

TEST_F(StreamCursorTest, ReadsAtMostMaxAndResumes) {
  for (int i = 0; i < 7; ++i) {
    queue::Message m;
    m.body = queue::Body::copy_of(std::string_view("m" + std::to_string(i)));
    append_message(m);
  }
  StreamCursor c;
  std::vector<StreamRecord> out;
  int64_t next = 2;
  auto n = c.read(part_->log(), next, 3, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(next, 5);
  EXPECT_EQ(offsets(out), (std::vector<int64_t>{2, 3, 4}));
  n = c.read(part_->log(), next, 10, out);
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(next, 7);
  // Caught up: nothing, and `next` stays at the end until something is appended.
  n = c.read(part_->log(), next, 10, out);
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(next, 7);
  queue::Message late;
  late.body = queue::Body::copy_of(std::string_view("late"));
  append_message(late);
  out.clear();
  n = c.read(part_->log(), next, 10, out);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(out[0].offset, 7);
  EXPECT_EQ(out[0].message.body.view(), "late");
}

class StreamCursorFramingTest : public StreamCursorTest, public ::testing::WithParamInterface<Framing> {};

TEST_P(StreamCursorFramingTest, KafkaProducerBatches) {
  append(kafka_batch(numbered(5, "a"), GetParam()));
  append(kafka_batch(numbered(4, "b"), GetParam(), 2000));
  StreamCursor c;
  auto rs = read_all(c, 0, 2);
  ASSERT_EQ(rs.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(rs[size_t(i)].offset, i);
  EXPECT_EQ(rs[6].message.routing_key, "b-key-1");
  EXPECT_EQ(rs[6].message.body.view(), "b value 1");
  EXPECT_EQ(rs[6].timestamp_ms, 2010);
  ASSERT_EQ(rs[6].message.headers.fields.size(), 1u);
  EXPECT_EQ(rs[6].message.headers.fields[0].name, "seq");
  EXPECT_EQ(rs[6].message.headers.fields[0].value, queue::Value(std::string("1")));  // Kafka headers are text

  // Starting inside a batch skips the records before the offset.
  StreamCursor mid;
  auto tail = read_all(mid, 7);
  EXPECT_EQ(offsets(tail), (std::vector<int64_t>{7, 8}));
}

INSTANTIATE_TEST_SUITE_P(AllFramings, StreamCursorFramingTest, ::testing::ValuesIn(storage::testing::all_framings()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(StreamCursorTest, ControlBatchesYieldNothing) {
  append(kafka_batch(numbered(2, "a"), storage::testing::all_framings()[0]));
  // A transaction marker: control bit set, one record.
  // (Its record's key is the marker's version and type, its value the
  // coordinator epoch; the cursor must not look at them at all.)
  KafkaRecord marker{std::string("\x00\x00\x00\x01", 4), std::string("\x00\x00\x00\x00\x00\x00", 6), {}};
  auto control = kafka_batch({marker}, storage::testing::all_framings()[0]);
  uint8_t* p = control.data() + storage::batch_layout::kAttributes;
  store_be16(p, uint16_t(load_be16(p) | storage::kAttrControl));
  storage::update_batch_crc(control);
  append(std::move(control));
  append(kafka_batch(numbered(1, "c"), storage::testing::all_framings()[0]));
  StreamCursor c;
  auto rs = read_all(c, 0);
  EXPECT_EQ(offsets(rs), (std::vector<int64_t>{0, 1, 3}));
}

TEST_F(StreamCursorTest, UndecodableHeadersStillDeliverKeyAndBody) {
  // "wharf.priority" is the codec's own header name; a Kafka producer may
  // still send it with anything in it.
  append(kafka_batch({{"k", "the body", {{"wharf.priority", "high"}}}}, storage::testing::all_framings()[0]));
  StreamCursor c;
  auto rs = read_all(c, 0);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].message.routing_key, "k");
  EXPECT_EQ(rs[0].message.body.view(), "the body");
  EXPECT_TRUE(rs[0].message.headers.empty());
}

TEST_F(StreamCursorTest, SmallWindowsReadEveryRecordInOrder) {
  for (int b = 0; b < 20; ++b)
    append(kafka_batch(numbered(3, "w" + std::to_string(b)), storage::testing::all_framings()[1]));
  StreamCursor c(/*window_bytes=*/64);  // smaller than one batch: one batch per window
  auto rs = read_all(c, 0, 4);
  ASSERT_EQ(rs.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(rs[size_t(i)].offset, i);
  EXPECT_EQ(rs[59].message.body.view(), "w19 value 2");
}

TEST_F(StreamCursorTest, OffsetsBelowTheLogStartReadFromTheStart) {
  for (int i = 0; i < 3; ++i)
    append(kafka_batch(numbered(2, "old" + std::to_string(i)), storage::testing::all_framings()[0]));
  ASSERT_TRUE(part_->log().roll_active(0).ok());
  append(kafka_batch(numbered(2, "new"), storage::testing::all_framings()[0]));
  auto gone = part_->log().delete_segments_before(Offset(6));
  ASSERT_TRUE(gone.ok());
  ASSERT_EQ(*gone, 1u);
  ASSERT_EQ(part_->log().start_offset().value, 6);
  StreamCursor c;
  auto rs = read_all(c, 0);
  EXPECT_EQ(offsets(rs), (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(rs[0].message.body.view(), "new value 0");
}

TEST_F(StreamCursorTest, BodiesOutliveTheCursor) {
  append(kafka_batch(numbered(3, "x"), storage::testing::all_framings()[4]));
  std::vector<StreamRecord> out;
  {
    StreamCursor c;
    int64_t next = 0;
    ASSERT_TRUE(c.read(part_->log(), next, 10, out).ok());
    c.clear();
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].message.body.view(), "x value 2");
}

}  // namespace wharf::broker
