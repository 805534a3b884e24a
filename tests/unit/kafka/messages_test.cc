// Generated message structs: known byte vectors, round trips at several
// versions (classic and flexible), tagged fields, and malformed input.
#include <gtest/gtest.h>
#include <stdio.h>

#include <cstdint>
#include <random>

#include "kafka/protocol/generated/api_keys.h"
#include "kafka/protocol/generated/api_versions.h"
#include "kafka/protocol/generated/fetch.h"
#include "kafka/protocol/generated/headers.h"
#include "kafka/protocol/generated/join_group.h"
#include "kafka/protocol/generated/metadata.h"
#include "kafka/protocol/generated/produce.h"
#include "kafka/protocol/generated/requests.h"
#include "test_util.h"

namespace wharf::kafka::msg {
namespace {

using test::Bytes;
using test::cat;
using test::round_trip;
using test::str_bytes;

// ---------------------------------------------------------------- known bytes

// A librdkafka-style ApiVersions v3 request: header v2 (client_id is a classic
// int16 string even in flexible headers), compact strings in the body.
const Bytes kApiVersionsV3Request = cat({
    {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01},  // api key 18, v3, correlation 1
    {0x00, 0x07}, str_bytes("rdkafka"),                 // client_id
    {0x00},                                             // header tags
    {0x0b}, str_bytes("librdkafka"),                    // ClientSoftwareName
    {0x06}, str_bytes("2.0.2"),                         // ClientSoftwareVersion
    {0x00},                                             // body tags
});

TEST(KnownBytes, ApiVersionsV3RequestDecodes) {
  Bytes buf = kApiVersionsV3Request;
  Reader r{std::span<uint8_t>(buf)};
  RequestHeader h;
  ASSERT_TRUE(h.decode(r, 2));
  EXPECT_EQ(h.request_api_key, 18);
  EXPECT_EQ(h.request_api_version, 3);
  EXPECT_EQ(h.correlation_id, 1);
  EXPECT_EQ(h.client_id, "rdkafka");
  EXPECT_EQ(request_header_version(h.request_api_key, h.request_api_version), 2);
  ApiVersionsRequest req;
  ASSERT_TRUE(req.decode(r, h.request_api_version));
  EXPECT_EQ(req.client_software_name, "librdkafka");
  EXPECT_EQ(req.client_software_version, "2.0.2");
  EXPECT_TRUE(r.at_end());
}

TEST(KnownBytes, ApiVersionsV3RequestEncodes) {
  OutBuffer ob;
  Writer w(ob);
  RequestHeader h;
  h.request_api_key = ApiVersionsRequest::kApiKey;
  h.request_api_version = 3;
  h.correlation_id = 1;
  h.client_id = "rdkafka";
  h.encode(w, 2);
  ApiVersionsRequest req;
  req.client_software_name = "librdkafka";
  req.client_software_version = "2.0.2";
  req.encode(w, 3);
  EXPECT_EQ(ob.to_bytes(), kApiVersionsV3Request);
}

const Bytes kMetadataV1Request = cat({
    {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a},  // api key 3, v1, correlation 42
    {0x00, 0x04}, str_bytes("kcat"),                    // client_id
    {0x00, 0x00, 0x00, 0x02},                           // 2 topics
    {0x00, 0x03}, str_bytes("foo"),
    {0x00, 0x03}, str_bytes("bar"),
});

TEST(KnownBytes, MetadataV1Request) {
  Bytes buf = kMetadataV1Request;
  Reader r{std::span<uint8_t>(buf)};
  RequestHeader h;
  ASSERT_TRUE(h.decode(r, request_header_version(3, 1)));
  EXPECT_EQ(h.correlation_id, 42);
  EXPECT_EQ(h.client_id, "kcat");
  MetadataRequest req;
  ASSERT_TRUE(req.decode(r, 1));
  EXPECT_TRUE(r.at_end());
  ASSERT_TRUE(req.topics.has_value());
  ASSERT_EQ(req.topics->size(), 2u);
  EXPECT_EQ((*req.topics)[0].name, "foo");
  EXPECT_EQ((*req.topics)[1].name, "bar");

  OutBuffer ob;
  Writer w(ob);
  h.encode(w, 1);
  req.encode(w, 1);
  EXPECT_EQ(ob.to_bytes(), kMetadataV1Request);

  // v1 null topics means "all topics".
  Bytes all{0xff, 0xff, 0xff, 0xff};
  Reader r2{std::span<uint8_t>(all)};
  MetadataRequest req2;
  ASSERT_TRUE(req2.decode(r2, 1));
  EXPECT_FALSE(req2.topics.has_value());
  // ... but null is not allowed in v0.
  Reader r3{std::span<uint8_t>(all)};
  MetadataRequest req3;
  EXPECT_FALSE(req3.decode(r3, 0));
}

TEST(ApiTable, HeaderVersions) {
  EXPECT_EQ(request_header_version(18, 2), 1);
  EXPECT_EQ(request_header_version(18, 3), 2);
  EXPECT_EQ(response_header_version(18, 3), 0);  // KIP-511
  EXPECT_EQ(response_header_version(18, 0), 0);
  EXPECT_EQ(request_header_version(0, 8), 1);
  EXPECT_EQ(request_header_version(0, 9), 2);
  EXPECT_EQ(response_header_version(0, 9), 1);
  EXPECT_EQ(response_header_version(1, 11), 0);
  EXPECT_EQ(response_header_version(1, 12), 1);
  EXPECT_EQ(request_header_version(17, 1), 1);  // SaslHandshake: never flexible
  EXPECT_EQ(response_header_version(60, 0), 1);  // DescribeCluster: flexible from v0
  EXPECT_EQ(request_header_version(9999, 0), -1);
  const ApiInfo* a = find_api(int16_t(ApiKey::Fetch));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "Fetch");
  EXPECT_EQ(a->min_version, FetchRequest::kMinVersion);
  EXPECT_EQ(a->max_version, FetchRequest::kMaxVersion);
  EXPECT_EQ(a->first_flexible_version, 12);
  EXPECT_EQ(find_api(int16_t(ApiKey::SaslHandshake))->first_flexible_version, -1);
  EXPECT_EQ(kApiCount, 33);
  for (int i = 1; i < kApiCount; ++i) EXPECT_LT(kApiTable[i - 1].key, kApiTable[i].key);
  EXPECT_TRUE(is_supported(3, 12));
  EXPECT_FALSE(is_supported(3, 13));
}

// ---------------------------------------------------------------- round trips

TEST(RoundTrip, ProduceV3AndV9) {
  const Bytes batch{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int16_t v : {3, 9}) {
    ProduceRequest req;
    req.transactional_id = v == 9 ? std::optional<std::string>("txn-1") : std::nullopt;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& t = req.topic_data.emplace_back();
    t.name = "orders";
    auto& p = t.partition_data.emplace_back();
    p.index = 4;
    p.records.mem = batch;
    auto& p2 = t.partition_data.emplace_back();
    p2.index = 5;
    p2.records.is_null = true;

    ProduceRequest out;
    Bytes buf;
    round_trip(req, v, out, buf);
    EXPECT_EQ(out.transactional_id, req.transactional_id);
    EXPECT_EQ(out.acks, -1);
    EXPECT_EQ(out.timeout_ms, 30000);
    ASSERT_EQ(out.topic_data.size(), 1u);
    EXPECT_EQ(out.topic_data[0].name, "orders");
    ASSERT_EQ(out.topic_data[0].partition_data.size(), 2u);
    const Records& rec = out.topic_data[0].partition_data[0].records;
    EXPECT_EQ(Bytes(rec.data.begin(), rec.data.end()), batch);
    // The records view points into the request buffer and is patchable.
    EXPECT_GE(rec.data.data(), buf.data());
    EXPECT_LE(rec.data.data() + rec.data.size(), buf.data() + buf.size());
    rec.data[0] = 0x7f;
    EXPECT_EQ(buf[size_t(rec.data.data() - buf.data())], 0x7f);
    EXPECT_TRUE(out.topic_data[0].partition_data[1].records.is_null);
  }
  // Flexible vs classic encodings differ (compact lengths).
  ProduceRequest req;
  req.topic_data.emplace_back().name = "x";
  EXPECT_NE(test::encode(req, 3), test::encode(req, 9));
}

TEST(RoundTrip, ProduceResponseV10TaggedStruct) {
  ProduceResponse resp;
  auto& t = resp.responses.emplace_back();
  t.name = "orders";
  auto& p = t.partition_responses.emplace_back();
  p.index = 1;
  p.error_code = int16_t(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  p.current_leader.leader_id = 3;
  p.current_leader.leader_epoch = 7;
  auto& ne = resp.node_endpoints.emplace_back();
  ne.node_id = 3;
  ne.host = "broker-3";
  ne.port = 9092;
  ProduceResponse out;
  Bytes buf;
  round_trip(resp, 10, out, buf);
  EXPECT_EQ(out, resp);
  // Without the tagged values the encoding is shorter (tags omitted).
  ProduceResponse plain = resp;
  plain.node_endpoints.clear();
  plain.responses[0].partition_responses[0].current_leader = {};
  EXPECT_LT(test::encode(plain, 10).size(), buf.size());
}

TEST(RoundTrip, FetchResponseWithMemAndFileSlice) {
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fwrite("ABCDEFGHIJ", 1, 10, f), 10u);
  fflush(f);
  for (int16_t v : {4, 11, 12}) {
    FetchResponse resp;
    resp.throttle_time_ms = 5;
    if (v >= 7) resp.session_id = 99;
    auto& t = resp.responses.emplace_back();
    t.topic = "events";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 2;
    p.high_watermark = 1000;
    p.last_stable_offset = 990;
    if (v >= 5) p.log_start_offset = 10;
    p.aborted_transactions.emplace().push_back({/*producer_id=*/77, /*first_offset=*/900});
    if (v >= 11) p.preferred_read_replica = 1;
    if (v >= 12) {
      p.diverging_epoch.epoch = 4;
      p.diverging_epoch.end_offset = 500;
      p.current_leader.leader_id = 1;
      p.current_leader.leader_epoch = 4;
    }
    p.records.mem = {'m', 'e', 'm'};
    p.records.slices.push_back(FileSlice{nullptr, fileno(f), 2, 5});
    auto& p2 = t.partitions.emplace_back();
    p2.partition_index = 3;
    p2.error_code = int16_t(ErrorCode::OFFSET_OUT_OF_RANGE);
    p2.records.is_null = true;

    // The file bytes go out as a FileSlice chunk, not copied.
    OutBuffer ob;
    Writer w(ob);
    resp.encode(w, v);
    int file_chunks = 0;
    for (const auto& c : ob.chunks()) file_chunks += c.is_file();
    EXPECT_EQ(file_chunks, 1);

    Bytes buf = ob.to_bytes();
    Reader r{std::span<uint8_t>(buf)};
    FetchResponse out;
    ASSERT_TRUE(out.decode(r, v)) << v;
    EXPECT_TRUE(r.at_end());
    ASSERT_EQ(out.responses.size(), 1u);
    const auto& op = out.responses[0].partitions[0];
    EXPECT_EQ(Bytes(op.records.data.begin(), op.records.data.end()), str_bytes("memCDEFG"));
    EXPECT_EQ(op.high_watermark, 1000);
    EXPECT_EQ(op.last_stable_offset, 990);
    ASSERT_TRUE(op.aborted_transactions.has_value());
    EXPECT_EQ((*op.aborted_transactions)[0].producer_id, 77);
    const auto& pin = resp.responses[0].partitions[0];  // p was invalidated by emplace_back
    EXPECT_EQ(op.diverging_epoch, pin.diverging_epoch);
    EXPECT_EQ(op.current_leader, pin.current_leader);
    EXPECT_EQ(op.preferred_read_replica, pin.preferred_read_replica);
    EXPECT_TRUE(out.responses[0].partitions[1].records.is_null);
    EXPECT_EQ(out.session_id, resp.session_id);

    // Re-encoding the decoded form (records now a view) gives the same bytes.
    FetchResponse again;
    Bytes buf2;
    round_trip(out, v, again, buf2);
    EXPECT_EQ(buf2, buf);
  }
  fclose(f);
}

TEST(RoundTrip, FetchRequestV12AndV17) {
  for (int16_t v : {4, 12, 15, 17}) {
    FetchRequest req;
    if (v < 15) req.replica_id = -1;
    if (v >= 15) {
      req.replica_state.replica_id = 2;
      req.replica_state.replica_epoch = 8;
    }
    if (v >= 12) req.cluster_id = "c1";
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    auto& t = req.topics.emplace_back();
    if (v < 13) t.topic = "events"; else t.topic_id.bytes[0] = 0xab;
    auto& p = t.partitions.emplace_back();
    p.partition = 1;
    if (v >= 9) p.current_leader_epoch = 3;
    p.fetch_offset = 12345;
    if (v >= 5) p.log_start_offset = -1;
    p.partition_max_bytes = 1 << 20;
    if (v >= 17) p.replica_directory_id.bytes[15] = 1;
    if (v >= 7) req.forgotten_topics_data.emplace_back().partitions = {1, 2, 3};
    if (v >= 11) req.rack_id = "rack-a";
    FetchRequest out;
    Bytes buf;
    round_trip(req, v, out, buf);
    EXPECT_EQ(out, req) << v;
  }
}

TEST(RoundTrip, MetadataV1V9V12) {
  for (int16_t v : {1, 9, 12}) {
    MetadataRequest req;
    req.topics.emplace();
    auto& rt = req.topics->emplace_back();
    rt.name = "foo";
    if (v >= 10) rt.topic_id.bytes[3] = 9;
    if (v >= 12) req.topics->emplace_back().name = std::nullopt;  // by id only
    if (v >= 4) req.allow_auto_topic_creation = false;
    MetadataRequest rout;
    Bytes rbuf;
    round_trip(req, v, rout, rbuf);
    EXPECT_EQ(rout, req) << v;

    MetadataResponse resp;
    if (v >= 3) resp.throttle_time_ms = 1;
    auto& b = resp.brokers.emplace_back();
    b.node_id = 1;
    b.host = "localhost";
    b.port = 9092;
    b.rack = std::nullopt;
    if (v >= 2) resp.cluster_id = "wharf-cluster";
    resp.controller_id = 1;
    auto& t = resp.topics.emplace_back();
    t.name = "foo";
    if (v >= 10) t.topic_id.bytes[0] = 1;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.leader_id = 1;
    if (v >= 7) p.leader_epoch = 3;
    p.replica_nodes = {1};
    p.isr_nodes = {1};
    if (v >= 5) p.offline_replicas = {};
    if (v >= 8) t.topic_authorized_operations = 0x0ff8;
    MetadataResponse out;
    Bytes buf;
    round_trip(resp, v, out, buf);
    EXPECT_EQ(out, resp) << v;
  }
}

TEST(RoundTrip, ApiVersionsV0AndV3WithTags) {
  ApiVersionsResponse resp;
  for (const auto& a : kApiTable) {
    auto& k = resp.api_keys.emplace_back();
    k.api_key = a.key;
    k.min_version = a.min_version;
    k.max_version = a.max_version;
  }
  ApiVersionsResponse out0;
  Bytes buf0;
  round_trip(resp, 0, out0, buf0);
  EXPECT_EQ(out0, resp);
  EXPECT_EQ(buf0.size(), 2u + 4 + 6 * resp.api_keys.size());

  resp.throttle_time_ms = 0;
  auto& sf = resp.supported_features.emplace_back();
  sf.name = "metadata.version";
  sf.min_version = 1;
  sf.max_version = 20;
  resp.finalized_features_epoch = 5;
  resp.zk_migration_ready = true;
  ApiVersionsResponse out3;
  Bytes buf3;
  round_trip(resp, 3, out3, buf3);
  EXPECT_EQ(out3, resp);
  EXPECT_EQ(out3.finalized_features_epoch, 5);
  EXPECT_TRUE(out3.zk_migration_ready);

  // Default-valued tagged fields are not written: the body ends with an
  // empty tag section.
  ApiVersionsResponse plain;
  Bytes pb = test::encode(plain, 3);
  EXPECT_EQ(pb, (Bytes{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}));

  // An unknown tag is skipped.
  Bytes with_unknown{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                     0x02,                    // two tagged fields
                     0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x2a,  // tag 1: epoch 42
                     0x63, 0x02, 0xde, 0xad};  // tag 99: unknown
  Reader r{std::span<uint8_t>(with_unknown)};
  ApiVersionsResponse u;
  ASSERT_TRUE(u.decode(r, 3));
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(u.finalized_features_epoch, 42);

  // A known tag whose value is shorter than its type fails.
  Bytes bad_tag{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0, 0};
  Reader rb{std::span<uint8_t>(bad_tag)};
  ApiVersionsResponse bt;
  EXPECT_FALSE(bt.decode(rb, 3));
}

TEST(RoundTrip, JoinGroupV5AndV7) {
  for (int16_t v : {5, 7}) {
    JoinGroupRequest req;
    req.group_id = "g1";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 30000;
    req.member_id = "";
    req.group_instance_id = std::nullopt;
    req.protocol_type = "consumer";
    auto& pr = req.protocols.emplace_back();
    pr.name = "range";
    pr.metadata = {0, 1, 0, 0, 0, 1, 0, 3, 'f', 'o', 'o'};
    req.protocols.emplace_back().name = "cooperative-sticky";
    JoinGroupRequest rout;
    Bytes rbuf;
    round_trip(req, v, rout, rbuf);
    EXPECT_EQ(rout, req);

    JoinGroupResponse resp;
    resp.throttle_time_ms = 0;
    resp.generation_id = 3;
    if (v >= 7) resp.protocol_type = "consumer";
    resp.protocol_name = "range";
    resp.leader = "m-1";
    resp.member_id = "m-2";
    auto& m = resp.members.emplace_back();
    m.member_id = "m-1";
    m.group_instance_id = "static-1";
    m.metadata = {1, 2, 3};
    JoinGroupResponse out;
    Bytes buf;
    round_trip(resp, v, out, buf);
    EXPECT_EQ(out, resp);
  }
  JoinGroupResponse null_name;
  null_name.protocol_name = std::nullopt;  // nullable from v7 only
  Bytes b7 = test::encode(null_name, 7);
  Bytes b6 = test::encode(null_name, 6);
  JoinGroupResponse o7, o6;
  Reader r7{std::span<uint8_t>(b7)}, r6{std::span<uint8_t>(b6)};
  ASSERT_TRUE(o7.decode(r7, 7));
  ASSERT_TRUE(o6.decode(r6, 6));
  EXPECT_FALSE(o7.protocol_name.has_value());
  EXPECT_EQ(o6.protocol_name, "");  // written as empty where not nullable
}

// ---------------------------------------------------------------- hostile input

TEST(Hostile, UnsupportedVersionFails) {
  Bytes buf{0, 0, 0, 0, 0, 0, 0, 0};
  Reader r{std::span<uint8_t>(buf)};
  MetadataRequest req;
  EXPECT_FALSE(req.decode(r, MetadataRequest::kMaxVersion + 1));
  Reader r2{std::span<uint8_t>(buf)};
  EXPECT_FALSE(req.decode(r2, -1));
}

TEST(Hostile, HugeCountsInMessages) {
  // Produce v3: null txn id, acks, timeout, then a topic count of 2^31-1.
  Bytes buf{0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0x7f, 0xff, 0xff, 0xff, 0x00};
  Reader r{std::span<uint8_t>(buf)};
  ProduceRequest req;
  EXPECT_FALSE(req.decode(r, 3));
  EXPECT_TRUE(req.topic_data.empty());
  // Produce v9 with a compact count of 2^32-2.
  Bytes buf9{0x00, 0, 1, 0, 0, 0x75, 0x30, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  Reader r9{std::span<uint8_t>(buf9)};
  ProduceRequest req9;
  EXPECT_FALSE(req9.decode(r9, 9));
}

TEST(Hostile, RandomMutationsNeverCrash) {
  // Start from valid encodings and flip bytes; decoders must return (either
  // way) without crashing; run under ASan/UBSan to check memory safety.
  std::vector<std::pair<int16_t, Bytes>> seeds;
  {
    ProduceRequest req;
    req.transactional_id = "t";
    auto& t = req.topic_data.emplace_back();
    t.name = "x";
    t.partition_data.emplace_back().records.mem = {1, 2, 3, 4};
    seeds.push_back({9, test::encode(req, 9)});
    seeds.push_back({3, test::encode(req, 3)});
  }
  {
    Bytes b(kApiVersionsV3Request.begin() + 18, kApiVersionsV3Request.end());
    seeds.push_back({3, b});
  }
  {
    FetchRequest req;
    req.topics.emplace_back().partitions.emplace_back();
    req.cluster_id = "c";
    seeds.push_back({12, test::encode(req, 12)});
  }
  std::mt19937 rng(12345);
  int ok_count = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    auto [v, b] = seeds[size_t(iter) % seeds.size()];
    int flips = 1 + int(rng() % 4);
    for (int i = 0; i < flips && !b.empty(); ++i) b[rng() % b.size()] = uint8_t(rng());
    if (rng() % 4 == 0 && !b.empty()) b.resize(rng() % b.size());
    int16_t key = iter % 4 < 2 ? 0 : (iter % 4 == 2 ? 18 : 1);
    Reader r{std::span<uint8_t>(b)};
    AnyRequest any;
    ok_count += decode_request(key, v, r, any);
  }
  EXPECT_GT(ok_count, 0);
}

TEST(Dispatch, DecodeRequestByKey) {
  Bytes body(kApiVersionsV3Request.begin() + 18, kApiVersionsV3Request.end());
  Reader r{std::span<uint8_t>(body)};
  AnyRequest any;
  ASSERT_TRUE(decode_request(18, 3, r, any));
  ASSERT_TRUE(std::holds_alternative<ApiVersionsRequest>(any));
  EXPECT_EQ(std::get<ApiVersionsRequest>(any).client_software_version, "2.0.2");
  Reader r2{std::span<uint8_t>(body)};
  EXPECT_FALSE(decode_request(12345, 0, r2, any));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(any));
}

}  // namespace
}  // namespace wharf::kafka::msg
