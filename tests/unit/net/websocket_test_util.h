// Helpers for the WebSocket tests: frames as a client sends them (masked) and
// a decoder of what the server sends (unmasked), written independently of
// src/net/websocket so the two are checked against each other.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wharf::net::websocket::testing {

// One client frame. `len_override` forces the 7-bit length field's form:
// 126 or 127 select the 16/64-bit extended length even for short payloads.
inline std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                                uint8_t rsv = 0, uint32_t mask = 0x37fa213d, int len_override = -1) {
  std::string f;
  f += char((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  const uint64_t n = payload.size();
  const uint8_t m = masked ? 0x80 : 0;
  int form = len_override >= 0 ? len_override : (n < 126 ? 0 : n <= 0xFFFF ? 126 : 127);
  if (form == 0) {
    f += char(m | n);
  } else if (form == 126) {
    f += char(m | 126);
    f += char(n >> 8);
    f += char(n);
  } else {
    f += char(m | 127);
    for (int i = 7; i >= 0; --i) f += char(n >> (8 * i));
  }
  uint8_t key[4] = {uint8_t(mask >> 24), uint8_t(mask >> 16), uint8_t(mask >> 8), uint8_t(mask)};
  if (masked) f.append(reinterpret_cast<char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i) f += masked ? char(payload[i] ^ key[i % 4]) : payload[i];
  return f;
}

inline std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += char(code >> 8);
  p += char(code);
  p += reason;
  return p;
}

struct ServerFrame {
  bool fin = false;
  uint8_t rsv = 0;
  uint8_t opcode = 0;
  bool masked = false;
  std::string payload;
  uint16_t close_code() const { return payload.size() >= 2 ? uint16_t((uint8_t(payload[0]) << 8) | uint8_t(payload[1])) : 0; }
};

// Takes whole frames off the front of `bytes`; leaves an incomplete tail.
inline std::vector<ServerFrame> take_server_frames(std::string& bytes) {
  std::vector<ServerFrame> out;
  size_t pos = 0;
  for (;;) {
    if (bytes.size() - pos < 2) break;
    const uint8_t b0 = uint8_t(bytes[pos]), b1 = uint8_t(bytes[pos + 1]);
    size_t hdr = 2;
    uint64_t len = b1 & 0x7F;
    if (len == 126) {
      hdr = 4;
      if (bytes.size() - pos < hdr) break;
      len = (uint64_t(uint8_t(bytes[pos + 2])) << 8) | uint8_t(bytes[pos + 3]);
    } else if (len == 127) {
      hdr = 10;
      if (bytes.size() - pos < hdr) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | uint8_t(bytes[pos + 2 + i]);
    }
    if (b1 & 0x80) hdr += 4;
    if (bytes.size() - pos < hdr + len) break;
    ServerFrame f;
    f.fin = b0 & 0x80;
    f.rsv = (b0 >> 4) & 7;
    f.opcode = b0 & 0x0F;
    f.masked = b1 & 0x80;
    f.payload = bytes.substr(pos + hdr, len);
    out.push_back(std::move(f));
    pos += hdr + len;
  }
  bytes.erase(0, pos);
  return out;
}

inline std::string upgrade_request(std::string_view path = "/ws", std::string_view protocols = {},
                                   std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==") {
  std::string r = "GET " + std::string(path) + " HTTP/1.1\r\n";
  r += "Host: 127.0.0.1\r\n";
  r += "Upgrade: websocket\r\n";
  r += "Connection: Upgrade\r\n";
  r += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
  r += "Sec-WebSocket-Version: 13\r\n";
  if (!protocols.empty()) r += "Sec-WebSocket-Protocol: " + std::string(protocols) + "\r\n";
  r += "\r\n";
  return r;
}

}  // namespace wharf::net::websocket::testing
