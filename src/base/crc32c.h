// CRC-32C (Castagnoli), as used by Kafka RecordBatch v2 and our file formats.
// Backed by ISA-L, which picks the fastest SIMD/CRC instruction path at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wharf {

// Standard CRC-32C of [data, data+len): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t len);

// Continues a CRC-32C: crc32c_extend(crc32c(a), b) == crc32c(a ++ b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len);

}  // namespace wharf
