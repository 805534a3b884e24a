// libFuzzer target: the WebSocket opening handshake parser and the client
// frame reader on hostile bytes. Input: byte 0 picks the chunk size the bytes
// arrive in (as a connection would deliver them: all unconsumed input each
// time); the rest is an upgrade request followed by frames. Checks: nothing
// reads outside the input, consumption never exceeds the input, errors are
// sticky, an accepted request's chosen protocol was offered, and every text
// message the reader lets through is valid UTF-8.
#include <cstdlib>
#include <string>
#include <vector>

#include "net/websocket/frame_reader.h"
#include "net/websocket/handshake.h"
#include "net/websocket/utf8.h"

using namespace wharf::net::websocket;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = size_t(data[0] % 64) + 1;
  std::vector<uint8_t> in(data + 1, data + size);

  HandshakePolicy policy;
  policy.subprotocols = {"v12.stomp", "v11.stomp", "v10.stomp"};
  HandshakeParser hs(512);
  size_t fed = 0, begin = 0;
  bool accepted = false;
  while (fed < in.size()) {
    fed = std::min(in.size(), fed + chunk);
    size_t used = 0;
    auto st = hs.feed(std::span<const uint8_t>(in.data(), fed), policy, &used);
    if (st == HandshakeParser::Status::kRejected) {
      check(!render_rejection(hs.rejection()).empty());
      return 0;
    }
    if (st == HandshakeParser::Status::kAccepted) {
      check(used > 0 && used <= fed);
      const auto& r = hs.request();
      if (!r.protocol.empty()) {
        bool offered = false;
        for (const auto& p : r.offered_protocols) offered |= p == r.protocol;
        check(offered);
      }
      check(render_accept(r).size() > 0);
      begin = used;
      accepted = true;
      break;
    }
    check(used == 0);
  }
  if (!accepted) return 0;

  FrameReader reader(4096);
  std::string message;
  bool text = false;
  size_t end = begin;  // bytes [begin, end) have arrived and are unconsumed
  while (end < in.size() || begin < end) {
    const size_t before_end = end;
    end = std::min(in.size(), end + chunk);
    for (;;) {
      std::span<uint8_t> avail(in.data() + begin, end - begin);
      size_t used = 0;
      FrameEvent e = reader.next(avail, &used);
      check(used <= avail.size());
      if (!e.payload.empty()) {
        check(e.payload.data() >= avail.data() && e.payload.data() + e.payload.size() <= avail.data() + avail.size());
      }
      if (e.kind == FrameEvent::Kind::kError) {
        size_t again = 1;
        auto rest = avail.subspan(used);
        check(reader.next(rest, &again).kind == FrameEvent::Kind::kError && again == 0);
        return 0;
      }
      if (e.kind == FrameEvent::Kind::kClose) return 0;
      if (e.kind == FrameEvent::Kind::kData) {
        message.append(e.payload.begin(), e.payload.end());
        text = e.text;
        check(message.size() <= 4096);
        if (e.message_end) {
          if (text) check(is_valid_utf8({reinterpret_cast<const uint8_t*>(message.data()), message.size()}));
          message.clear();
        }
      }
      begin += used;
      if (e.kind == FrameEvent::Kind::kNeedMore) break;
    }
    if (end == in.size() && end == before_end) break;  // no progress possible
  }
  return 0;
}
