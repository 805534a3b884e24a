#include "amqp/protocol/command_assembler.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace wharf::amqp {

namespace {

// Cap on the up-front reservation for a body, so a header announcing a huge
// (but allowed) body-size does not allocate before the octets arrive.
constexpr size_t kMaxBodyReserve = 1 << 20;

}  // namespace

void CommandAssembler::reset() {
  state_ = State::kIdle;
  pending_.reset();
}

AssembleResult CommandAssembler::fail(WireErrc e, std::string text) {
  AssembleResult r;
  r.status = AssembleResult::kError;
  r.error.errc = e;
  r.error.channel = channel_;
  if (pending_) {
    const msg::MethodId id = msg::id_of(pending_->method);
    r.error.class_id = msg::class_id_of(id);
    r.error.method_id = msg::method_id_of(id);
  }
  r.error.text = std::move(text);
  reset();
  return r;
}

AssembleResult CommandAssembler::complete() {
  AssembleResult r;
  r.status = AssembleResult::kCommand;
  r.command = std::move(*pending_);
  reset();
  return r;
}

AssembleResult CommandAssembler::add(const Frame& f) {
  assert(f.channel == channel_);
  switch (f.type) {
    case FrameType::Method: return on_method(f);
    case FrameType::Header: return on_header(f);
    case FrameType::Body: return on_body(f);
    case FrameType::Heartbeat: break;
  }
  assert(false && "heartbeats are handled by the connection");
  return fail(WireErrc::kUnexpectedFrame, "heartbeat frame on a channel");
}

AssembleResult CommandAssembler::on_method(const Frame& f) {
  if (state_ != State::kIdle) {
    return fail(WireErrc::kUnexpectedFrame, std::string("method frame before the content of ") +
                                                std::string(msg::name_of(pending_->method)) + " was complete");
  }
  auto m = msg::decode_method_payload(f.payload);
  if (!m.ok()) {
    AssembleResult r = fail(
        m.code() == Errc::kUnsupported ? WireErrc::kUnknownMethod : WireErrc::kMalformedMethod, m.error().message);
    if (f.payload.size() >= 4) {
      r.error.class_id = uint16_t(f.payload[0] << 8 | f.payload[1]);
      r.error.method_id = uint16_t(f.payload[2] << 8 | f.payload[3]);
    }
    return r;
  }
  pending_.emplace(Command{std::move(*m), std::nullopt, {}});
  const msg::MethodInfo* info = msg::find_method(msg::id_of(pending_->method));
  if (!info->has_content) return complete();
  state_ = State::kAwaitHeader;
  return {};
}

AssembleResult CommandAssembler::on_header(const Frame& f) {
  if (state_ != State::kAwaitHeader) {
    return fail(WireErrc::kUnexpectedFrame, state_ == State::kIdle ? "content header frame without a content method"
                                                                    : "second content header frame");
  }
  auto h = decode_content_header(f.payload);
  if (!h.ok()) return fail(WireErrc::kMalformedHeader, h.error().message);
  if (h->class_id != msg::class_id_of(msg::id_of(pending_->method))) {
    return fail(WireErrc::kUnexpectedFrame, "content header class differs from the method's class");
  }
  if (h->body_size > max_body_) {
    return fail(WireErrc::kContentTooLarge, "message body of " + std::to_string(h->body_size) +
                                                " bytes is larger than the maximum " + std::to_string(max_body_));
  }
  pending_->body.reserve(size_t(std::min<uint64_t>(h->body_size, kMaxBodyReserve)));
  pending_->header = std::move(*h);
  if (pending_->header->body_size == 0) return complete();
  state_ = State::kAwaitBody;
  return {};
}

AssembleResult CommandAssembler::on_body(const Frame& f) {
  if (state_ != State::kAwaitBody) {
    return fail(WireErrc::kUnexpectedFrame, state_ == State::kIdle ? "content body frame without a content method"
                                                                    : "content body frame before the content header");
  }
  auto& body = pending_->body;
  const uint64_t want = pending_->header->body_size;
  if (f.payload.size() > want - body.size()) {
    return fail(WireErrc::kUnexpectedFrame, "content body frames exceed the body size of " + std::to_string(want));
  }
  body.insert(body.end(), f.payload.begin(), f.payload.end());
  if (body.size() == want) return complete();
  return {};
}

}  // namespace wharf::amqp
