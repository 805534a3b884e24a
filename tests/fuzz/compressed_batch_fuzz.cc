// libFuzzer target for looking inside a record batch (ListOffsets by time),
// whose records section a producer chose: only its CRC was checked on produce.
//
// Input layout: byte 0 = codec (attribute bits 0-2, so 5-7 are unknown ids),
// bytes 1-2 = recordsCount (big-endian), byte 3 = target timestamp, then the
// records section as stored.
//
// Checks: neither decompress() nor first_record_at_or_after() crashes, reads
// out of bounds (ASan/UBSan) or hands back more than its output limit.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "base/endian.h"
#include "storage/compression.h"
#include "storage/record_batch.h"

using namespace wharf;
using namespace wharf::storage;

namespace {
// Small, so a bomb is refused quickly and runs stay fast under ASan.
constexpr size_t kLimit = size_t(4) << 20;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  int codec = data[0] & 0x07;
  uint16_t count = load_be16(data + 1);
  int64_t ts = data[3];
  std::span<const uint8_t> section(data + 4, size - 4);

  auto plain = decompress(Codec(codec), section, kLimit);
  if (plain.ok() && plain->size() > kLimit) std::abort();

  using namespace batch_layout;
  std::vector<uint8_t> batch(kHeaderSize + section.size(), 0);
  std::copy(section.begin(), section.end(), batch.begin() + kHeaderSize);
  store_be64(batch.data() + kBaseOffset, 1000);
  store_be32(batch.data() + kBatchLength, uint32_t(batch.size() - kLogOverhead));
  batch[kMagic] = 2;
  store_be16(batch.data() + kAttributes, uint16_t(codec));
  store_be32(batch.data() + kLastOffsetDelta, count ? count - 1u : 0u);
  store_be64(batch.data() + kBaseTimestamp, 0);
  store_be32(batch.data() + kRecordsCount, count);
  auto r = first_record_at_or_after(batch, ts, kLimit);
  // With a valid stream the answer, when there is one, is at or after ts.
  if (r.ok() && r->has_value() && (*r)->timestamp < ts) std::abort();
  return 0;
}
