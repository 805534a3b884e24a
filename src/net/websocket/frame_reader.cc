#include "net/websocket/frame_reader.h"

#include <algorithm>

namespace wharf::net::websocket {

namespace {

void unmask(std::span<uint8_t> bytes, const uint8_t mask[4], uint8_t* pos) {
  uint8_t p = *pos;
  for (auto& b : bytes) {
    b ^= mask[p];
    p = (p + 1) & 3;
  }
  *pos = p;
}

uint64_t load_be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

FrameEvent FrameReader::fail(uint16_t code, std::string_view reason) {
  failed_ = true;
  error_ = FrameEvent{};
  error_.kind = FrameEvent::Kind::kError;
  error_.code = code;
  error_.reason = reason;
  return error_;
}

FrameEvent FrameReader::next(std::span<uint8_t> in, size_t* consumed) {
  *consumed = 0;
  if (failed_) return error_;
  if (closed_) {
    FrameEvent e;
    e.kind = FrameEvent::Kind::kClose;
    e.code = close_code::kNoStatus;
    return e;
  }
  if (in_frame_) return data_bytes(in, consumed);

  if (in.size() < 2) return {};
  const uint8_t b0 = in[0], b1 = in[1];
  if (b0 & kRsvBits) return fail(close_code::kProtocolError, "reserved bits set without a negotiated extension");
  const uint8_t opbits = b0 & 0x0F;
  if (!is_known_opcode(opbits)) return fail(close_code::kProtocolError, "unknown opcode");
  const Opcode op = Opcode(opbits);
  const bool fin = (b0 & kFin) != 0;
  if (!(b1 & kMaskBit)) return fail(close_code::kProtocolError, "client frame not masked");
  const uint8_t len7 = b1 & 0x7F;

  if (is_control(op)) {
    if (!fin) return fail(close_code::kProtocolError, "fragmented control frame");
    if (len7 > kMaxControlPayload) return fail(close_code::kProtocolError, "control frame longer than 125 bytes");
    const size_t total = 2 + 4 + len7;
    if (in.size() < total) return {};  // wait for all of it; nothing consumed
    std::copy(in.begin() + 2, in.begin() + 6, mask_);
    uint8_t pos = 0;
    auto payload = in.subspan(6, len7);
    unmask(payload, mask_, &pos);
    *consumed = total;
    return control(op, payload);
  }

  size_t hdr = 2;
  uint64_t len = len7;
  if (len7 == 126) {
    hdr += 2;
    if (in.size() < hdr) return {};
    len = load_be(in.data() + 2, 2);
  } else if (len7 == 127) {
    hdr += 8;
    if (in.size() < hdr) return {};
    len = load_be(in.data() + 2, 8);
    if (len >> 63) return fail(close_code::kProtocolError, "64-bit length with the most significant bit set");
  }
  if (in.size() < hdr + 4) return {};

  if (op == Opcode::kContinuation) {
    if (!in_message_) return fail(close_code::kProtocolError, "continuation frame outside a fragmented message");
  } else {
    if (in_message_) return fail(close_code::kProtocolError, "new data frame inside a fragmented message");
    in_message_ = true;
    message_text_ = op == Opcode::kText;
    message_bytes_ = 0;
    utf8_.reset();
  }
  if (len > max_message_bytes_ - message_bytes_) return fail(close_code::kMessageTooBig, "message too big");
  message_bytes_ += len;

  std::copy(in.begin() + hdr, in.begin() + hdr + 4, mask_);
  mask_pos_ = 0;
  in_frame_ = true;
  frame_fin_ = fin;
  frame_left_ = len;
  size_t rest = 0;
  FrameEvent e = data_bytes(in.subspan(hdr + 4), &rest);
  *consumed = hdr + 4 + rest;
  return e;
}

// Hands out the payload bytes of the current data frame that have arrived.
// Reports kData even for none when the frame (and so maybe the message) ends
// here: an empty final fragment still finishes its message.
FrameEvent FrameReader::data_bytes(std::span<uint8_t> in, size_t* consumed) {
  const size_t n = size_t(std::min<uint64_t>(frame_left_, in.size()));
  if (n == 0 && frame_left_ > 0) return {};
  auto bytes = in.first(n);
  unmask(bytes, mask_, &mask_pos_);
  frame_left_ -= n;
  *consumed = n;
  FrameEvent e;
  e.kind = FrameEvent::Kind::kData;
  e.payload = bytes;
  e.text = message_text_;
  if (frame_left_ == 0) {
    in_frame_ = false;
    e.message_end = frame_fin_;
  }
  if (message_text_ && !utf8_.feed(bytes)) return fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
  if (e.message_end) {
    in_message_ = false;
    if (message_text_ && !utf8_.complete()) return fail(close_code::kInvalidPayload, "text message ends inside a UTF-8 character");
  }
  return e;
}

FrameEvent FrameReader::control(Opcode op, std::span<uint8_t> payload) {
  FrameEvent e;
  e.payload = payload;
  switch (op) {
    case Opcode::kPing:
      e.kind = FrameEvent::Kind::kPing;
      return e;
    case Opcode::kPong:
      e.kind = FrameEvent::Kind::kPong;
      return e;
    case Opcode::kClose:
      break;
    default:
      return fail(close_code::kProtocolError, "unknown control opcode");  // unreachable: opcodes checked
  }
  if (payload.size() == 1) return fail(close_code::kProtocolError, "close frame with a one-byte payload");
  e.kind = FrameEvent::Kind::kClose;
  e.code = close_code::kNoStatus;
  if (payload.size() >= 2) {
    e.code = uint16_t(load_be(payload.data(), 2));
    if (!close_code_allowed_on_wire(e.code)) return fail(close_code::kProtocolError, "invalid close code");
    e.payload = payload.subspan(2);
    if (!is_valid_utf8(e.payload)) return fail(close_code::kInvalidPayload, "close reason is not valid UTF-8");
  }
  closed_ = true;
  return e;
}

}  // namespace wharf::net::websocket
