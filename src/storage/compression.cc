#include "storage/compression.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zstd.h>
#define ZLIB_CONST  // next_in is const: we never write to the input
#include <zlib.h>

#include "base/endian.h"

namespace wharf::storage {

namespace {

// Each decoder call gets at least this much room; the room then doubles with
// the output so far, so a large section costs O(log n) calls and reallocations.
constexpr size_t kMinChunk = size_t(64) << 10;
// zlib counts in uInt; one call never gets more than this.
constexpr size_t kMaxChunk = size_t(1) << 30;
// A zstd frame names its window size and the decoder allocates that much up
// front. Nothing we keep is larger than kMaxDecompressedRecordsBytes (2^26),
// so a larger window would only let a tiny hostile frame claim memory.
// Writers at the usual levels (librdkafka and zstd-jni default to 3) use at
// most 2^21.
constexpr int kZstdWindowLogMax = 26;

constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
// Magic, then int32 version and int32 minimum compatible version (both 1 from
// every writer we know; like other readers we do not insist).
constexpr size_t kXerialHeaderSize = 16;

const char* codec_name(Codec c) {
  switch (c) {
    case Codec::kNone: return "none";
    case Codec::kGzip: return "gzip";
    case Codec::kSnappy: return "snappy";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
  }
  return "unknown";
}

Error corrupt(Codec c, std::string_view why) {
  return make_error(Errc::kCorrupt, fmt::format("{} records: {}", codec_name(c), why));
}

Error too_large(Codec c, size_t max_out) {
  return make_error(Errc::kMessageTooLarge,
                    fmt::format("{} records expand to more than {} bytes", codec_name(c), max_out));
}

// Makes room at the end of `out` for the next decoder call. It never grows
// past max_out + 1 bytes: a decoder that fills that last byte still had output
// to give, which is how "too large" is told apart from "exactly max_out".
// REQUIRES: out.size() <= max_out.
std::span<uint8_t> grow(std::vector<uint8_t>& out, size_t max_out) {
  size_t have = out.size();
  size_t room = std::min({std::max(have, kMinChunk), kMaxChunk, max_out + 1 - have});
  out.resize(have + room);
  return {out.data() + have, room};
}

result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> in, size_t max_out) {
  if (in.size() > kMaxChunk) return too_large(Codec::kGzip, max_out);
  z_stream zs{};
  // 16 + MAX_WBITS: a gzip wrapper only, as Kafka writes and accepts.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return make_error(Errc::kUnknown, "gzip: inflateInit2 failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};
  zs.next_in = in.data();
  zs.avail_in = uInt(in.size());
  std::vector<uint8_t> out;
  for (;;) {
    auto room = grow(out, max_out);
    zs.next_out = room.data();
    zs.avail_out = uInt(room.size());
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (out.size() > max_out) return too_large(Codec::kGzip, max_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return out;
      // Another gzip member follows (Java's GZIPInputStream reads them too).
      if (inflateReset(&zs) != Z_OK) return corrupt(Codec::kGzip, "inflateReset failed");
      continue;
    }
    if (rc == Z_OK) continue;  // made progress; inflate again
    // Z_BUF_ERROR: no progress possible though there was room, so the input
    // ran out before the stream ended.
    if (rc == Z_BUF_ERROR) return corrupt(Codec::kGzip, "truncated stream");
    return corrupt(Codec::kGzip, zs.msg ? std::string(zs.msg) : fmt::format("inflate error {}", rc));
  }
}

// Appends one raw snappy block to `out`. Snappy states the block's output
// length up front, so the limit is checked before the memory is taken.
status unsnappy_block(std::span<const uint8_t> block, std::vector<uint8_t>& out, size_t max_out) {
  const char* p = reinterpret_cast<const char*>(block.data());
  size_t n = 0;
  if (!snappy::GetUncompressedLength(p, block.size(), &n)) return corrupt(Codec::kSnappy, "bad block length");
  if (n > max_out - out.size()) return too_large(Codec::kSnappy, max_out);
  size_t at = out.size();
  out.resize(at + n);
  if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return corrupt(Codec::kSnappy, "bad block");
  }
  return {};
}

result<std::vector<uint8_t>> unsnappy(std::span<const uint8_t> in, size_t max_out) {
  std::vector<uint8_t> out;
  bool xerial = in.size() >= kXerialHeaderSize && std::memcmp(in.data(), kXerialMagic, sizeof kXerialMagic) == 0;
  if (!xerial) {
    // One raw block. (A raw block cannot be mistaken for the magic in
    // practice: it would have to declare exactly 10626 bytes and then start
    // with the tag bytes "NAPPY\0".)
    auto st = unsnappy_block(in, out, max_out);
    if (!st.ok()) return st.error();
    return out;
  }
  size_t pos = kXerialHeaderSize;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return corrupt(Codec::kSnappy, "truncated xerial chunk length");
    size_t len = load_be32(in.data() + pos);
    pos += 4;
    if (len > in.size() - pos) return corrupt(Codec::kSnappy, "truncated xerial chunk");
    auto st = unsnappy_block(in.subspan(pos, len), out, max_out);
    if (!st.ok()) return st.error();
    pos += len;
  }
  return out;
}

result<std::vector<uint8_t>> unlz4(std::span<const uint8_t> in, size_t max_out) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return make_error(Errc::kUnknown, "lz4: cannot create a decompression context");
  }
  struct Free {
    LZ4F_dctx* d;
    ~Free() { LZ4F_freeDecompressionContext(d); }
  } free_ctx{dctx};
  std::vector<uint8_t> out;
  size_t pos = 0;
  for (;;) {
    auto room = grow(out, max_out);
    size_t dst_n = room.size(), src_n = in.size() - pos;
    // Verifies the header checksum, and block and content checksums when the
    // frame has them.
    size_t r = LZ4F_decompress(dctx, room.data(), &dst_n, in.data() + pos, &src_n, nullptr);
    out.resize(out.size() - room.size() + dst_n);
    if (LZ4F_isError(r)) return corrupt(Codec::kLz4, LZ4F_getErrorName(r));
    if (out.size() > max_out) return too_large(Codec::kLz4, max_out);
    pos += src_n;
    // r == 0: a frame ended here. Done if the input did too; otherwise another
    // frame follows and the context starts it.
    if (r == 0 && pos == in.size()) return out;
    // Input used up and room left over: the decoder is waiting for bytes that
    // will never come.
    if (pos == in.size() && dst_n < room.size()) return corrupt(Codec::kLz4, "truncated frame");
    // Guard against spinning on input the decoder neither takes nor rejects.
    if (src_n == 0 && dst_n == 0) return corrupt(Codec::kLz4, "decoder made no progress");
  }
}

result<std::vector<uint8_t>> unzstd(std::span<const uint8_t> in, size_t max_out) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return make_error(Errc::kUnknown, "zstd: cannot create a decompression context");
  struct Free {
    ZSTD_DCtx* d;
    ~Free() { ZSTD_freeDCtx(d); }
  } free_ctx{dctx};
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, kZstdWindowLogMax);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::vector<uint8_t> out;
  for (;;) {
    auto room = grow(out, max_out);
    ZSTD_outBuffer dst{room.data(), room.size(), 0};
    size_t src_before = src.pos;
    size_t r = ZSTD_decompressStream(dctx, &dst, &src);
    out.resize(out.size() - room.size() + dst.pos);
    if (ZSTD_isError(r)) return corrupt(Codec::kZstd, ZSTD_getErrorName(r));
    if (out.size() > max_out) return too_large(Codec::kZstd, max_out);
    // r == 0: a frame ended and was fully flushed. More input means another
    // frame (or a skippable one), which the context starts by itself.
    if (r == 0 && src.pos == src.size) return out;
    // All input taken and the decoder flushed what it could (room was left):
    // the frame is incomplete.
    if (src.pos == src.size && dst.pos < dst.size) return corrupt(Codec::kZstd, "truncated frame");
    if (src.pos == src_before && dst.pos == 0) return corrupt(Codec::kZstd, "decoder made no progress");
  }
}

}  // namespace

result<std::vector<uint8_t>> decompress(Codec codec, std::span<const uint8_t> in, size_t max_out) {
  // grow() needs max_out + 1 to fit.
  max_out = std::min(max_out, SIZE_MAX - 1);
  switch (codec) {
    case Codec::kNone:
      if (in.size() > max_out) return too_large(codec, max_out);
      return std::vector<uint8_t>(in.begin(), in.end());
    case Codec::kGzip: return gunzip(in, max_out);
    case Codec::kSnappy: return unsnappy(in, max_out);
    case Codec::kLz4: return unlz4(in, max_out);
    case Codec::kZstd: return unzstd(in, max_out);
  }
  return make_error(Errc::kUnsupported, fmt::format("compression codec {}", int(codec)));
}

}  // namespace wharf::storage
