// Helpers for tests that look inside batches: real Kafka records (varint
// headers, unlike make_batch's opaque bodies) and the compressors Kafka
// clients use, built on the same libraries so the broker's decoders meet
// streams written by an independent encoder.
#pragma once

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/endian.h"
#include "storage/compression.h"
#include "storage/record_batch.h"

namespace wharf::storage::testing {

struct TestRecord {
  int64_t ts_delta = 0;
  int64_t offset_delta = 0;
  std::string value;
};

// n records at base_ts + i * step_ms with offset deltas 0..n-1.
inline std::vector<TestRecord> records_every(int n, int64_t step_ms, size_t value_bytes = 30) {
  std::vector<TestRecord> out;
  for (int i = 0; i < n; i++) {
    std::string v = "event " + std::to_string(i) + " ";
    while (v.size() < value_bytes) v += "payload ";  // repetitive, like real logs
    v.resize(value_bytes);
    out.push_back({i * step_ms, i, v});
  }
  return out;
}

inline void put_varlong(std::vector<uint8_t>& o, int64_t v) {
  uint64_t u = (uint64_t(v) << 1) ^ uint64_t(v >> 63);  // zigzag
  while (u >= 0x80) {
    o.push_back(uint8_t(u | 0x80));
    u >>= 7;
  }
  o.push_back(uint8_t(u));
}

// The plain records section: [length][attributes][tsDelta][offsetDelta]
// [key -1 (null)][value length][value][0 headers] per record.
inline std::vector<uint8_t> encode_records(const std::vector<TestRecord>& recs) {
  std::vector<uint8_t> out;
  for (const auto& r : recs) {
    std::vector<uint8_t> body;
    body.push_back(0);
    put_varlong(body, r.ts_delta);
    put_varlong(body, r.offset_delta);
    put_varlong(body, -1);
    put_varlong(body, int64_t(r.value.size()));
    body.insert(body.end(), r.value.begin(), r.value.end());
    put_varlong(body, 0);
    put_varlong(out, int64_t(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

// A valid batch (CRC included) with these records, whose records section is
// `section` (the encoded records, compressed with `codec` when it is not
// kNone). baseOffset is `base_offset`.
inline std::vector<uint8_t> batch_with_section(const std::vector<TestRecord>& recs, int64_t base_ts, Codec codec,
                                               const std::vector<uint8_t>& section, int64_t base_offset = 0) {
  using namespace batch_layout;
  int64_t max_ts = base_ts, last_delta = 0;
  for (const auto& r : recs) {
    max_ts = std::max(max_ts, base_ts + r.ts_delta);
    last_delta = std::max(last_delta, r.offset_delta);
  }
  std::vector<uint8_t> b(kHeaderSize + section.size(), 0);
  std::copy(section.begin(), section.end(), b.begin() + kHeaderSize);
  uint8_t* p = b.data();
  store_be64(p + kBaseOffset, uint64_t(base_offset));
  store_be32(p + kBatchLength, uint32_t(b.size() - kLogOverhead));
  p[kMagic] = 2;
  store_be16(p + kAttributes, uint16_t(codec));
  store_be32(p + kLastOffsetDelta, uint32_t(last_delta));
  store_be64(p + kBaseTimestamp, uint64_t(base_ts));
  store_be64(p + kMaxTimestamp, uint64_t(max_ts));
  store_be64(p + kProducerId, uint64_t(-1));
  store_be16(p + kProducerEpoch, uint16_t(-1));
  store_be32(p + kBaseSequence, uint32_t(-1));
  store_be32(p + kRecordsCount, uint32_t(recs.size()));
  update_batch_crc(b);
  return b;
}

// ---- compressors, one per framing a Kafka client may send ----

inline std::vector<uint8_t> gzip_compress(std::span<const uint8_t> in, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, uLong(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// One raw snappy block (librdkafka, kafkajs, sarama).
inline std::vector<uint8_t> snappy_raw(std::span<const uint8_t> in) {
  std::string out;
  snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &out);
  return {out.begin(), out.end()};
}

// The xerial snappy-java stream (the Java client): magic, version 1,
// compatible version 1, then [int32 BE length][raw block] per chunk of at
// most `chunk` input bytes (snappy-java uses 32 KiB; tests use less to get
// several chunks out of small inputs).
inline std::vector<uint8_t> snappy_xerial(std::span<const uint8_t> in, size_t chunk = 32 << 10) {
  std::vector<uint8_t> out = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    auto block = snappy_raw(in.subspan(pos, std::min(chunk, in.size() - pos)));
    uint8_t len[4];
    store_be32(len, uint32_t(block.size()));
    out.insert(out.end(), len, len + 4);
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

// An LZ4 frame with 64 KiB independent blocks, as Kafka clients write, plus a
// content checksum so corruption inside a block is caught too.
inline std::vector<uint8_t> lz4_frame(std::span<const uint8_t> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame written by a streaming encoder that does not know the size up
// front, so the frame header carries no content size (zstd-jni streams).
inline std::vector<uint8_t> zstd_stream(std::span<const uint8_t> in) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()) + 64);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  size_t left = ZSTD_compressStream2(c, &dst, &src, ZSTD_e_end);
  EXPECT_EQ(left, 0u);
  out.resize(dst.pos);
  ZSTD_freeCCtx(c);
  EXPECT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  return out;
}

// A one-shot zstd frame that does carry its content size (librdkafka).
inline std::vector<uint8_t> zstd_sized(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// One way a client may frame compressed records.
struct Framing {
  const char* name;
  Codec codec;
  std::function<std::vector<uint8_t>(std::span<const uint8_t>)> compress;
};

// gtest prints parameters with this: the framing's name, not its bytes.
inline void PrintTo(const Framing& f, std::ostream* os) { *os << f.name; }

inline std::vector<Framing> all_framings() {
  return {
      {"none", Codec::kNone, [](std::span<const uint8_t> in) { return std::vector<uint8_t>(in.begin(), in.end()); }},
      {"gzip", Codec::kGzip, [](std::span<const uint8_t> in) { return gzip_compress(in); }},
      {"snappy_raw", Codec::kSnappy, snappy_raw},
      {"snappy_xerial", Codec::kSnappy, [](std::span<const uint8_t> in) { return snappy_xerial(in, 100); }},
      {"lz4_frame", Codec::kLz4, lz4_frame},
      {"zstd_stream", Codec::kZstd, zstd_stream},
      {"zstd_sized", Codec::kZstd, zstd_sized},
  };
}

// Every framing but "none".
inline std::vector<Framing> compressed_framings() {
  auto all = all_framings();
  std::erase_if(all, [](const Framing& f) { return f.codec == Codec::kNone; });
  return all;
}

// A batch of `recs` compressed with `f`.
inline std::vector<uint8_t> compressed_batch(const Framing& f, const std::vector<TestRecord>& recs, int64_t base_ts,
                                             int64_t base_offset = 0) {
  auto plain = encode_records(recs);
  return batch_with_section(recs, base_ts, f.codec, f.compress(plain), base_offset);
}

}  // namespace wharf::storage::testing
