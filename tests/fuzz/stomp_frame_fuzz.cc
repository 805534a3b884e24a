// libFuzzer target for the STOMP frame parser and writer.
//
// Input: byte 0 picks the version (mod 3: 1.0, 1.1, 1.2) and byte 1 the chunk
// size (1..256) the rest is fed in, so splits land everywhere. Small limits
// make every limit reachable.
//
// Checks: nothing crashes, reads out of bounds or overflows (ASan/UBSan); the
// parser never buffers more than it was fed; an error is sticky; every frame
// that parses encodes (same version) to bytes that parse back to the same
// command, body and headers (content-length aside: the writer rewrites it),
// except a handshake frame with a value ending in CR, which the writer must
// refuse.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stomp/protocol/frame_parser.h"
#include "stomp/protocol/frame_writer.h"

using namespace wharf;
using namespace wharf::stomp;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers without_content_length(const Headers& h) {
  Headers out;
  for (const auto& kv : h) {
    if (kv.first != "content-length") out.push_back(kv);
  }
  return out;
}

void check_round_trip(const Frame& f, Version v, const Limits& limits) {
  std::string wire;
  if (!encode_frame(f, v, wire).ok()) {
    // The one parsed shape the writer may refuse: an unescaped handshake
    // header whose value still ends in CR after the line's CRLF was stripped.
    bool cr_end = false;
    for (const auto& kv : f.headers) cr_end |= !kv.second.empty() && kv.second.back() == '\r';
    if (!is_handshake_command(f.command) || !cr_end) abort();
    return;
  }
  Limits roomy = limits;
  roomy.max_header_line = 1 << 20;  // escaping may lengthen lines; +1 header for content-length
  roomy.max_headers = limits.max_headers + 1;
  FrameParser p(roomy);
  p.set_version(v);
  p.feed(wire);
  FrameParse r = p.next();
  if (r.status != FrameParse::kFrame) abort();
  if (r.frame.command != f.command || r.frame.body != f.body) abort();
  if (without_content_length(r.frame.headers) != without_content_length(f.headers)) abort();
  if (p.buffered() != 0) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Version v = static_cast<Version>(data[0] % 3);
  const size_t chunk = size_t(data[1]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  Limits limits;
  limits.max_header_line = 256;
  limits.max_headers = 16;
  limits.max_body = 4096;
  FrameParser p(limits);
  p.set_version(v);
  size_t fed = 0;
  while (fed < in.size()) {
    const size_t n = std::min(chunk, in.size() - fed);
    p.feed(in.substr(fed, n));
    fed += n;
    for (;;) {
      if (p.buffered() > fed) abort();
      FrameParse r = p.next();
      if (r.status == FrameParse::kNeedMore) break;
      if (r.status == FrameParse::kError) {
        if (r.error.offset > fed) abort();
        if (p.next().status != FrameParse::kError) abort();
        return 0;
      }
      check_round_trip(r.frame, v, limits);
    }
  }
  return 0;
}
