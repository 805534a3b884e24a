// Helpers for storage tests: valid RecordBatch v2 bytes and temp dirs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/endian.h"
#include "storage/log.h"
#include "storage/record_batch.h"

namespace wharf::storage::testing {

// A RecordBatch v2 with `records` records whose bodies are `body_bytes`
// filler bytes each (storage never parses records). CRC is correct.
inline std::vector<uint8_t> make_batch(int32_t records, int64_t base_ts, int64_t max_ts, size_t body_bytes = 20,
                                       int64_t producer_id = -1, int32_t base_seq = -1, int16_t attrs = 0) {
  using namespace batch_layout;
  std::vector<uint8_t> b(kHeaderSize + size_t(records) * body_bytes, 0);
  for (size_t i = kHeaderSize; i < b.size(); i++) b[i] = uint8_t(i * 31 + records);
  uint8_t* p = b.data();
  store_be64(p + kBaseOffset, 0);
  store_be32(p + kBatchLength, uint32_t(b.size() - kLogOverhead));
  store_be32(p + kLeaderEpoch, 0);
  p[kMagic] = 2;
  store_be16(p + kAttributes, uint16_t(attrs));
  store_be32(p + kLastOffsetDelta, uint32_t(records - 1));
  store_be64(p + kBaseTimestamp, uint64_t(base_ts));
  store_be64(p + kMaxTimestamp, uint64_t(max_ts));
  store_be64(p + kProducerId, uint64_t(producer_id));
  store_be16(p + kProducerEpoch, uint16_t(producer_id >= 0 ? 0 : -1));
  store_be32(p + kBaseSequence, uint32_t(base_seq));
  store_be32(p + kRecordsCount, uint32_t(records));
  update_batch_crc(b);
  return b;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/wharf_storage_test_XXXXXX";
    char* d = ::mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    path_ = d;
  }
  ~TempDir() { (void)Env::posix()->remove_dir_recursive(path_); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads the bytes of every slice and returns the headers of the batches.
inline std::vector<BatchHeader> slice_headers(const ReadResult& rr) {
  std::vector<BatchHeader> out;
  for (const auto& s : rr.slices) {
    std::vector<uint8_t> buf(s.len);
    EXPECT_EQ(::pread(s.fd, buf.data(), s.len, s.pos), ssize_t(s.len));
    size_t pos = 0;
    while (pos < buf.size()) {
      auto h = parse_batch_header(std::span<const uint8_t>(buf).subspan(pos));
      EXPECT_TRUE(h.ok());
      if (!h.ok()) return out;
      EXPECT_TRUE(validate_batch(std::span<const uint8_t>(buf).subspan(pos, h->total_size())).ok());
      out.push_back(*h);
      pos += h->total_size();
    }
  }
  return out;
}

inline std::string seg_path(const std::string& dir, int64_t base, const char* suffix) {
  char name[64];
  std::snprintf(name, sizeof name, "%020lld%s", static_cast<long long>(base), suffix);
  return dir + "/" + name;
}

}  // namespace wharf::storage::testing
