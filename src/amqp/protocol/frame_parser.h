// FrameParser: splits received bytes into AMQP frames (layout in frame.h).
//
// Incremental: parse() looks at the unconsumed input, which may end anywhere,
// and reports one of
//   kFrame     a whole frame at the start of the input; consume `size` bytes
//   kNeedMore  the input holds only part of a frame; `size` is how many bytes
//              the frame needs in total (7 while the header is incomplete), so
//              a net::Session can set *want and get the frame in one block
//   kError     the input is not a valid frame stream; close the connection
//              with error.reply_code() (always a hard error here)
// Errors are reported as early as the bytes allow: a bad type or an oversized
// size is rejected from the 7-byte header, before any payload is buffered.
// The parser does not look inside payloads (see methods.h, content_header.h)
// and does not check which frames may follow which (see command_assembler.h).
//
// Typical use in a Session::on_data:
//   size_t used = 0;
//   for (;;) {
//     FrameParse p = parser.parse(data.subspan(used));
//     if (p.status == FrameParse::kNeedMore) { *want = p.size; break; }
//     if (p.status == FrameParse::kError) return close_with(p.error);
//     handle(p.frame);   // p.frame.payload points into data
//     used += p.size;
//   }
//   return used;
//
// Thread rules: parse() is const and keeps no state between calls.
#pragma once

#include <cstdint>
#include <span>

#include "amqp/protocol/frame.h"
#include "amqp/protocol/protocol_error.h"

namespace wharf::amqp {

struct FrameParse {
  enum Status : uint8_t { kFrame, kNeedMore, kError };
  Status status = kNeedMore;
  Frame frame;          // kFrame only
  size_t size = 0;      // kFrame: bytes taken; kNeedMore: bytes the frame needs in all
  ProtocolError error;  // kError only
};

class FrameParser {
 public:
  // REQUIRES: frame_max >= kFrameMinSize. A negotiated frame_max of 0 means
  // "no limit" in the spec; the connection layer maps it to its own maximum.
  explicit FrameParser(uint32_t frame_max = kFrameMinSize) { set_frame_max(frame_max); }

  // Call after connection.tune-ok with the negotiated value.
  void set_frame_max(uint32_t frame_max);
  uint32_t frame_max() const { return frame_max_; }

  FrameParse parse(std::span<uint8_t> data) const;

 private:
  uint32_t frame_max_ = kFrameMinSize;
};

}  // namespace wharf::amqp
