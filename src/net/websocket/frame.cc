#include "net/websocket/frame.h"

#include <algorithm>

#include "base/endian.h"

namespace wharf::net::websocket {

bool close_code_allowed_on_wire(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

size_t write_frame_header(uint8_t* out, Opcode op, uint64_t payload_len, bool fin) {
  out[0] = uint8_t((fin ? kFin : 0) | uint8_t(op));
  if (payload_len < 126) {
    out[1] = uint8_t(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = 126;
    store_be16(out + 2, uint16_t(payload_len));
    return 4;
  }
  out[1] = 127;
  store_be64(out + 2, payload_len);
  return 10;
}

void encode_frame_header(OutBuffer& out, Opcode op, uint64_t payload_len, bool fin) {
  uint8_t h[kMaxServerHeader];
  out.append(h, write_frame_header(h, op, payload_len, fin));
}

OutBuffer encode_close(uint16_t code, std::string_view reason) {
  size_t n = std::min(reason.size(), kMaxControlPayload - 2);
  // Back up over continuation bytes so a multi-byte character is not cut.
  if (n < reason.size()) {
    while (n > 0 && (uint8_t(reason[n]) & 0xC0) == 0x80) --n;
  }
  OutBuffer out;
  encode_frame_header(out, Opcode::kClose, 2 + n);
  out.append_be16(code);
  out.append(reason.data(), n);
  return out;
}

}  // namespace wharf::net::websocket
