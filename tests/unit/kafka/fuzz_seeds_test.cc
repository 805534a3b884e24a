// Builds the seed corpus for tests/fuzz/kafka_request_fuzz.cc and checks each
// seed decodes the way the fuzzer decodes it. To (re)write the committed seeds:
//   WHARF_WRITE_FUZZ_SEEDS=tests/fuzz/corpus/kafka_request
//   ./build/tests/unit/kafka/kafka_protocol_test --gtest_filter='FuzzSeeds.*'
// (the variable set in the environment of the second command).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/endian.h"
#include "kafka/protocol/generated/requests.h"
#include "test_util.h"

namespace wharf::kafka::msg {
namespace {

using test::Bytes;

template <class T>
Bytes seed(const T& body, int16_t version, const std::string& client_id) {
  OutBuffer ob;
  Writer w(ob);
  w.write_int16(T::kApiKey);
  w.write_int16(version);
  RequestHeader h;
  h.request_api_key = T::kApiKey;
  h.request_api_version = version;
  h.correlation_id = 7;
  h.client_id = client_id;
  h.encode(w, request_header_version(T::kApiKey, version));
  body.encode(w, version);
  return ob.to_bytes();
}

std::vector<std::pair<std::string, Bytes>> make_seeds() {
  std::vector<std::pair<std::string, Bytes>> s;
  {
    ApiVersionsRequest r;
    r.client_software_name = "librdkafka";
    r.client_software_version = "2.0.2";
    s.push_back({"api_versions_v3", seed(r, 3, "rdkafka")});
    s.push_back({"api_versions_v0", seed(ApiVersionsRequest{}, 0, "kafka-python")});
  }
  {
    MetadataRequest r;
    r.topics.emplace().emplace_back().name = "orders";
    s.push_back({"metadata_v1", seed(r, 1, "kcat")});
    r.topics->emplace_back().topic_id.bytes[0] = 1;
    s.push_back({"metadata_v12", seed(r, 12, "java")});
  }
  {
    ProduceRequest r;
    r.acks = -1;
    r.timeout_ms = 30000;
    auto& t = r.topic_data.emplace_back();
    t.name = "orders";
    auto& p = t.partition_data.emplace_back();
    p.records.mem = Bytes(61, 0);
    s.push_back({"produce_v3", seed(r, 3, "rdkafka")});
    r.transactional_id = "txn";
    s.push_back({"produce_v9", seed(r, 9, "rdkafka")});
  }
  {
    FetchRequest r;
    r.max_wait_ms = 500;
    r.min_bytes = 1;
    auto& t = r.topics.emplace_back();
    t.topic = "orders";
    auto& p = t.partitions.emplace_back();
    p.fetch_offset = 10;
    p.partition_max_bytes = 1 << 20;
    s.push_back({"fetch_v4", seed(r, 4, "rdkafka")});
    r.cluster_id = "c";
    s.push_back({"fetch_v12", seed(r, 12, "rdkafka")});
  }
  {
    JoinGroupRequest r;
    r.group_id = "g";
    r.session_timeout_ms = 10000;
    r.protocol_type = "consumer";
    r.protocols.emplace_back().name = "range";
    s.push_back({"join_group_v7", seed(r, 7, "rdkafka")});
  }
  {
    OffsetCommitRequest r;
    r.group_id = "g";
    auto& t = r.topics.emplace_back();
    t.name = "orders";
    t.partitions.emplace_back().committed_offset = 42;
    s.push_back({"offset_commit_v8", seed(r, 8, "rdkafka")});
  }
  {
    InitProducerIdRequest r;
    r.transactional_id = "txn";
    r.transaction_timeout_ms = 60000;
    s.push_back({"init_producer_id_v4", seed(r, 4, "rdkafka")});
  }
  return s;
}

TEST(FuzzSeeds, SeedsDecodeLikeTheFuzzer) {
  const char* dir = std::getenv("WHARF_WRITE_FUZZ_SEEDS");
  for (auto& [name, bytes] : make_seeds()) {
    int16_t key = int16_t(load_be16(bytes.data()));
    int16_t version = int16_t(load_be16(bytes.data() + 2));
    Bytes buf(bytes.begin() + 4, bytes.end());
    Reader r{std::span<uint8_t>(buf)};
    RequestHeader h;
    ASSERT_TRUE(h.decode(r, request_header_version(key, version))) << name;
    AnyRequest any;
    ASSERT_TRUE(decode_request(key, version, r, any)) << name;
    EXPECT_TRUE(r.at_end()) << name;
    if (dir) {
      std::string path = std::string(dir) + "/" + name;
      FILE* f = std::fopen(path.c_str(), "wb");
      ASSERT_NE(f, nullptr) << path;
      ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
      std::fclose(f);
    }
  }
}

}  // namespace
}  // namespace wharf::kafka::msg
