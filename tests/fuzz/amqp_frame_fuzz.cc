// libFuzzer target for the AMQP 0-9-1 frame parser, method and content
// header decoders and the command assembler.
//
// Input: a client's byte stream after the protocol header (whole or partial
// frames), parsed with frame_max 131072 as after a typical tune-ok.
//
// Checks: nothing crashes, reads out of bounds or overflows the stack
// (ASan/UBSan); the parser never claims more bytes than it was given; every
// method and content header that decodes re-encodes to bytes that decode to
// the same encoding; frames go through a per-channel CommandAssembler as the
// connection layer will feed them.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <vector>

#include "amqp/protocol/command_assembler.h"
#include "amqp/protocol/content_header.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/generated/methods.h"
#include "amqp/protocol/protocol_header.h"

using namespace wharf;
using namespace wharf::amqp;

namespace {

constexpr uint32_t kFrameMax = 131072;
constexpr uint64_t kMaxBody = 1 << 20;
constexpr size_t kMaxChannels = 64;  // bounds the assembler map on hostile channel numbers

std::vector<uint8_t> encode_method(const msg::AnyMethod& m) {
  OutBuffer ob;
  Writer w(ob);
  msg::encode_method(m, w);
  if (!w.ok()) abort();  // a decoded value always fits its wire type
  return ob.to_bytes();
}

std::vector<uint8_t> encode_header(const ContentHeader& h) {
  OutBuffer ob;
  Writer w(ob);
  encode_content_header(h, w);
  if (!w.ok()) abort();
  return ob.to_bytes();
}

void check_method(std::span<const uint8_t> payload) {
  auto m = msg::decode_method_payload(payload);
  if (!m.ok()) return;
  std::vector<uint8_t> once = encode_method(*m);
  auto again = msg::decode_method_payload(once);
  if (!again.ok() || encode_method(*again) != once) abort();
}

void check_header(std::span<const uint8_t> payload) {
  auto h = decode_content_header(payload);
  if (!h.ok()) return;
  std::vector<uint8_t> once = encode_header(*h);
  auto again = decode_content_header(once);
  if (!again.ok() || encode_header(*again) != once) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)check_protocol_header(std::span<const uint8_t>(data, size));
  // Mutable copy: frame payloads are views into it, as into a receive block.
  std::vector<uint8_t> buf(data, data + size);
  FrameParser parser(kFrameMax);
  std::map<uint16_t, CommandAssembler> channels;
  size_t used = 0;
  while (used < buf.size()) {
    FrameParse p = parser.parse(std::span<uint8_t>(buf).subspan(used));
    if (p.status != FrameParse::kFrame) break;  // need more, or an error that closes the connection
    if (p.size > buf.size() - used || p.size < 8) abort();
    used += p.size;
    switch (p.frame.type) {
      case FrameType::Method: check_method(p.frame.payload); break;
      case FrameType::Header: check_header(p.frame.payload); break;
      default: break;
    }
    if (p.frame.type == FrameType::Heartbeat) continue;
    auto it = channels.find(p.frame.channel);
    if (it == channels.end()) {
      if (channels.size() >= kMaxChannels) continue;
      it = channels.try_emplace(p.frame.channel, p.frame.channel, kMaxBody).first;
    }
    AssembleResult r = it->second.add(p.frame);
    if (r.status == AssembleResult::kCommand && r.command.header &&
        r.command.body.size() != r.command.header->body_size) {
      abort();
    }
  }
  return 0;
}
