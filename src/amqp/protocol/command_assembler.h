// CommandAssembler: turns the method, header and body frames of ONE channel
// into commands (a method, plus header and body for content methods such as
// basic.publish), and enforces the frame order of spec 4.2.6:
//
//   method (no content)                      -> command
//   content method, header, body frames ...  -> command once body-size octets arrived
//   (a body-size of 0 completes at the header; no body frame follows)
//
// Anything else on the channel is UNEXPECTED_FRAME (505): a header or body
// with no content method before it, a method before the content is complete,
// body frames carrying more than body-size octets. Frames of other channels
// may interleave; the connection keeps one assembler per open channel.
// Heartbeats are connection-level and never fed here.
//
// After any error the assembler is reset: the channel (soft error) or the
// connection (hard error) is being closed, and frames that still arrive for
// the channel are discarded by the connection layer until close-ok.
//
// Memory: the body is copied out of the input frames into Command::body; it
// never grows past the body-size the header announced, which is checked
// against max_body_size before anything is buffered.
//
// Thread rules: one thread at a time (the connection's shard).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "amqp/protocol/content_header.h"
#include "amqp/protocol/frame.h"
#include "amqp/protocol/generated/methods.h"
#include "amqp/protocol/protocol_error.h"

namespace wharf::amqp {

struct Command {
  msg::AnyMethod method;
  std::optional<ContentHeader> header;  // set iff the method carries content
  std::vector<uint8_t> body;            // header->body_size octets
};

struct AssembleResult {
  enum Status : uint8_t { kNeedMore, kCommand, kError };
  Status status = kNeedMore;
  Command command;      // kCommand only
  ProtocolError error;  // kError only
};

class CommandAssembler {
 public:
  CommandAssembler(uint16_t channel, uint64_t max_body_size) : channel_(channel), max_body_(max_body_size) {}

  // REQUIRES: f.channel == channel() and f.type is method, header or body.
  AssembleResult add(const Frame& f);

  // True between a content method and the end of its body.
  bool in_content() const { return state_ != State::kIdle; }
  uint16_t channel() const { return channel_; }
  void reset();

 private:
  enum class State : uint8_t { kIdle, kAwaitHeader, kAwaitBody };
  AssembleResult on_method(const Frame& f);
  AssembleResult on_header(const Frame& f);
  AssembleResult on_body(const Frame& f);
  AssembleResult fail(WireErrc e, std::string text);
  AssembleResult complete();

  uint16_t channel_;
  uint64_t max_body_;
  State state_ = State::kIdle;
  std::optional<Command> pending_;  // the content command being assembled
};

}  // namespace wharf::amqp
