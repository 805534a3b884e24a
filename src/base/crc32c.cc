#include "base/crc32c.h"

#include <isa-l/crc.h>

namespace wharf {

// ISA-L's crc32_iscsi takes and returns the CRC register without the final
// inversion, so the standard value is ~crc32_iscsi(p, n, ~0).
uint32_t crc32c(const void* data, size_t len) { return crc32c_extend(0, data, len); }

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len) {
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  uint32_t reg = ~crc;
  while (len > 0) {  // ISA-L takes an int length
    int n = len > (1u << 30) ? (1 << 30) : int(len);
    reg = crc32_iscsi(p, n, reg);
    p += n;
    len -= size_t(n);
  }
  return ~reg;
}

}  // namespace wharf
