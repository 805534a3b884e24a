// Builds the seed corpus for tests/fuzz/compressed_batch_fuzz.cc (one real
// records section per framing a client may send) and checks each seed finds
// the right record the way the fuzzer calls it. To (re)write the seeds:
//   WHARF_WRITE_FUZZ_SEEDS=tests/fuzz/corpus/compressed_batch
//   ./build/tests/unit/storage/storage_test --gtest_filter='CompressedBatchFuzzSeeds.*'
// (the variable set in the environment of the second command).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "records_util.h"

namespace wharf::storage {
namespace {

TEST(CompressedBatchFuzzSeeds, SeedsFindTheRecordLikeTheFuzzer) {
  const char* dir = std::getenv("WHARF_WRITE_FUZZ_SEEDS");
  auto recs = testing::records_every(6, 20, 40);  // timestamps 0, 20, ..., 100
  auto plain = testing::encode_records(recs);
  for (const auto& f : testing::all_framings()) {
    // Fuzzer layout: codec, recordsCount (BE16), target timestamp, section.
    std::vector<uint8_t> seed = {uint8_t(f.codec), 0, uint8_t(recs.size()), 50};
    auto section = f.compress(plain);
    seed.insert(seed.end(), section.begin(), section.end());

    // What the fuzzer builds from it: base offset 1000, base timestamp 0.
    auto batch = testing::batch_with_section(recs, 0, f.codec, section, 1000);
    auto r = first_record_at_or_after(batch, seed[3]);
    ASSERT_TRUE(r.ok() && r->has_value()) << f.name;
    EXPECT_EQ((*r)->offset, 1003) << f.name;
    EXPECT_EQ((*r)->timestamp, 60) << f.name;
    if (dir) {
      std::string path = std::string(dir) + "/" + f.name;
      FILE* out = std::fopen(path.c_str(), "wb");
      ASSERT_NE(out, nullptr) << path;
      ASSERT_EQ(std::fwrite(seed.data(), 1, seed.size(), out), seed.size());
      std::fclose(out);
    }
  }
}

}  // namespace
}  // namespace wharf::storage
