#include "net/websocket/utf8.h"

#include <cstring>

namespace wharf::net::websocket {

bool Utf8Validator::feed(std::span<const uint8_t> bytes) {
  if (failed_) return false;
  const uint8_t* p = bytes.data();
  const uint8_t* end = p + bytes.size();
  while (p < end) {
    if (needed_ == 0) {
      // ASCII runs (most STOMP traffic) eight bytes at a time.
      while (end - p >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        if (w & 0x8080808080808080ull) break;
        p += 8;
      }
      if (p == end) break;
      const uint8_t b = *p++;
      if (b < 0x80) continue;
      lower_ = 0x80;
      upper_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        needed_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        needed_ = 2;
        if (b == 0xE0) lower_ = 0xA0;  // overlong below U+0800
        if (b == 0xED) upper_ = 0x9F;  // UTF-16 surrogates U+D800..U+DFFF
      } else if (b >= 0xF0 && b <= 0xF4) {
        needed_ = 3;
        if (b == 0xF0) lower_ = 0x90;  // overlong below U+10000
        if (b == 0xF4) upper_ = 0x8F;  // above U+10FFFF
      } else {
        failed_ = true;  // continuation byte without a lead, C0/C1 overlong leads, F5..FF
        return false;
      }
    } else {
      const uint8_t b = *p++;
      if (b < lower_ || b > upper_) {
        failed_ = true;
        return false;
      }
      lower_ = 0x80;
      upper_ = 0xBF;
      --needed_;
    }
  }
  return true;
}

bool is_valid_utf8(std::span<const uint8_t> bytes) {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace wharf::net::websocket
