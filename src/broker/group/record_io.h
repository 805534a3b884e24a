// Big-endian field writers and a bounds-checked reader for the payloads of
// the offsets log (offset_log.h) and of group metadata (group_metadata.h).
// Header-only; no allocation beyond the strings it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/endian.h"

namespace wharf::broker::group::record_io {

inline void put_u16(std::string& s, uint16_t v) {
  uint8_t b[2];
  store_be16(b, v);
  s.append(reinterpret_cast<char*>(b), 2);
}
inline void put_u32(std::string& s, uint32_t v) {
  uint8_t b[4];
  store_be32(b, v);
  s.append(reinterpret_cast<char*>(b), 4);
}
inline void put_u64(std::string& s, uint64_t v) {
  uint8_t b[8];
  store_be64(b, v);
  s.append(reinterpret_cast<char*>(b), 8);
}

// Reads fields from [p, p + left). A read past the end sets ok = false and
// returns zero/empty; callers check ok once at the end (and left == 0 when
// the payload must be consumed exactly).
struct Reader {
  const uint8_t* p;
  size_t left;
  bool ok = true;

  bool need(size_t n) {
    if (left < n) ok = false;
    return ok;
  }
  uint16_t u16() {
    if (!need(2)) return 0;
    uint16_t v = load_be16(p);
    p += 2;
    left -= 2;
    return v;
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = load_be32(p);
    p += 4;
    left -= 4;
    return v;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = load_be64(p);
    p += 8;
    left -= 8;
    return v;
  }
  std::string str(size_t n) {
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    left -= n;
    return s;
  }
};

}  // namespace wharf::broker::group::record_io
