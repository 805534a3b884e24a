// Decompression of a RecordBatch's records section (the bytes after the
// 61-byte header). Storage keeps and serves batches exactly as producers
// compressed them; the one place that must look inside a compressed batch is
// ListOffsets by timestamp, which answers with the exact record whose
// timestamp is >= the target, and that record may sit in the middle of a
// batch. Nothing on the produce or fetch path calls this.
//
// The framing each codec has inside a Kafka RecordBatch v2:
//   1 gzip    a gzip stream (RFC 1952); several concatenated members are read
//             as one stream, as Java's GZIPInputStream does.
//   2 snappy  either the xerial snappy-java stream the Java client writes
//             (8-byte magic 82 'SNAPPY' 00, int32 version, int32 minimum
//             compatible version, then chunks of [int32 BE length][raw snappy
//             block]) or, from librdkafka and most other clients, one raw
//             snappy block. The magic tells them apart.
//   3 lz4     the standard LZ4 frame format (magic 04 22 4D 18). Kafka 0.8/0.9
//             computed the frame header checksum wrongly; KIP-57 fixed that
//             for magic >= 1, so a v2 batch always carries a correct one.
//   4 zstd    one or more zstd frames, often without a content size (streaming
//             writers), so the decoder is the streaming one.
//
// Input is untrusted (a producer chose these bytes, and only the batch CRC was
// checked on produce): every failure is an Error value, never a crash, and
// output is bounded by the caller's limit so a small batch cannot expand
// into unbounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace wharf::storage {

// Compression codec ids, as in attribute bits 0-2 of a record batch.
enum class Codec : int { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

// Most bytes a records section may expand to on the ListOffsets path. A batch
// is at most max.message.bytes (1 MiB by default) compressed; 64 MiB leaves
// room for a 64x ratio (repetitive JSON logs) while keeping one lookup's
// memory small next to the broker's.
inline constexpr size_t kMaxDecompressedRecordsBytes = size_t(64) << 20;

// Decompresses `in` written with `codec` and returns the plain bytes.
// Errc::kCorrupt when the bytes are not a complete, valid stream of that codec
// (garbage, truncated, checksum mismatch); Errc::kMessageTooLarge when the
// output would exceed `max_out` bytes (checked before the memory is taken);
// Errc::kUnsupported for codec ids other than 1-4. kNone returns a copy.
result<std::vector<uint8_t>> decompress(Codec codec, std::span<const uint8_t> in,
                                        size_t max_out = kMaxDecompressedRecordsBytes);

}  // namespace wharf::storage
