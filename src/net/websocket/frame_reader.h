// FrameReader: decodes the frames a WebSocket client sends (frame.h) into
// message bytes and control events, enforcing RFC 6455's rules for clients:
// every frame masked, RSV bits zero (no extension is ever negotiated), known
// opcodes only, control frames unfragmented and at most 125 bytes, continuation
// frames only inside a fragmented message, text messages valid UTF-8, and a
// bound on the size of one message.
//
// Pull style: next() looks at the unconsumed input and returns one event plus
// how many bytes it consumed, so the caller can stop between any two events
// (its consumer paused) and call again later with the rest. Payload bytes are
// unmasked in place in the caller's buffer and handed out as a view, without a
// copy; bytes are consumed exactly once, so nothing is unmasked twice.
//
// A data frame's payload is handed out as it arrives (possibly in many
// pieces); a control frame only once it is complete (it is short), so its
// header is not consumed before then.
//
// Thread rules: none (one reader per connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/websocket/frame.h"
#include "net/websocket/utf8.h"

namespace wharf::net::websocket {

struct FrameEvent {
  enum class Kind : uint8_t {
    kNeedMore,  // nothing more to report until more input arrives
    kData,      // payload: unmasked bytes of the current message (maybe empty)
    kPing,      // payload: the ping's application data (to echo in a pong)
    kPong,      // payload: ignored by servers
    kClose,     // code (kNoStatus when the frame had none) and payload = reason
    kError,     // the client broke the protocol: close with `code`; sticky
  };
  Kind kind = Kind::kNeedMore;
  std::span<uint8_t> payload;
  bool text = false;         // kData: the message is a text message
  bool message_end = false;  // kData: these are the last bytes of the message
  uint16_t code = 0;         // kClose: the peer's status; kError: the status to send
  std::string_view reason;   // kError: what was wrong, for the close frame and logs
};

class FrameReader {
 public:
  explicit FrameReader(uint64_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // `in` is all unconsumed input; *consumed is set to the bytes used (may be
  // non-zero with kNeedMore: a data frame header without payload yet). After a
  // kClose or kError, every call returns that same kind again, consuming
  // nothing: the client may send nothing meaningful after its close frame.
  FrameEvent next(std::span<uint8_t> in, size_t* consumed);

  // A fragmented message has started and not finished.
  bool in_message() const { return in_message_; }

 private:
  FrameEvent fail(uint16_t code, std::string_view reason);
  FrameEvent data_bytes(std::span<uint8_t> in, size_t* consumed);
  FrameEvent control(Opcode op, std::span<uint8_t> payload);

  const uint64_t max_message_bytes_;
  // Current data frame, after its header was consumed.
  bool in_frame_ = false;
  bool frame_fin_ = false;
  uint64_t frame_left_ = 0;  // payload bytes of the frame not consumed yet
  uint8_t mask_[4] = {};
  uint8_t mask_pos_ = 0;  // payload bytes consumed so far, mod 4
  // Current message (one or more data frames).
  bool in_message_ = false;
  bool message_text_ = false;
  uint64_t message_bytes_ = 0;
  Utf8Validator utf8_;
  // Terminal states.
  bool closed_ = false;
  FrameEvent error_;
  bool failed_ = false;
};

}  // namespace wharf::net::websocket
