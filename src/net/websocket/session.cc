#include "net/websocket/session.h"

#include <algorithm>
#include <cstring>

#include "base/logging.h"
#include "net/websocket/utf8.h"
#include "net/websocket/ws_transport.h"

namespace wharf::net::websocket {

namespace {

OutBuffer bytes_of(std::string_view s) {
  OutBuffer out;
  out.append(s.data(), s.size());
  return out;
}

bool all_utf8(const OutBuffer& out) {
  Utf8Validator v;
  for (const auto& c : out.chunks()) {
    if (c.is_file() || !v.feed(c.mem)) return false;  // file bytes are not looked at: binary
  }
  return v.complete();
}

}  // namespace

std::unique_ptr<Session> make_websocket_session(const std::shared_ptr<Connection>& conn, WebSocketOptions options,
                                                InnerFactory factory) {
  return std::make_unique<WebSocketSession>(conn, std::move(options), std::move(factory));
}

WebSocketSession::WebSocketSession(const std::shared_ptr<Connection>& conn, WebSocketOptions options,
                                   InnerFactory factory)
    : conn_(conn),
      peer_(conn->peer()),
      options_(std::move(options)),
      factory_(std::move(factory)),
      link_(std::make_shared<Link>()),
      handshake_(options_.max_handshake_bytes),
      reader_(options_.max_message_bytes),
      timer_(conn->executor()) {
  link_->session = this;
  arm_timer(options_.handshake_timeout);
}

WebSocketSession::~WebSocketSession() { link_->session = nullptr; }

result<size_t> WebSocketSession::on_data(const Block& block, std::span<uint8_t> data, size_t* want) {
  *want = 0;
  switch (state_) {
    case State::kHandshake:
      return on_handshake(data);
    case State::kOpen:
    case State::kClosing:
      return on_frames(block, data);
    case State::kDone:
      break;
  }
  return data.size();  // closing: whatever else the client sends is dropped
}

size_t WebSocketSession::on_handshake(std::span<uint8_t> data) {
  auto conn = conn_.lock();
  if (!conn) return data.size();
  size_t used = 0;
  switch (handshake_.feed(data, options_.handshake, &used)) {
    case HandshakeParser::Status::kIncomplete:
      return 0;
    case HandshakeParser::Status::kRejected: {
      const auto& r = handshake_.rejection();
      WLOG_DEBUG("websocket", "refusing the upgrade request of {}: {} {}", peer_, r.status, r.message);
      conn->send(bytes_of(render_rejection(r)));
      state_ = State::kDone;
      ++timer_generation_;
      timer_.cancel();
      conn->close_after_flush();
      return data.size();
    }
    case HandshakeParser::Status::kAccepted:
      break;
  }
  ++timer_generation_;
  timer_.cancel();
  // The 101 goes out before anything the inner session may send while
  // being built.
  conn->send(bytes_of(render_accept(handshake_.request())));
  state_ = State::kOpen;
  inner_ = factory_(std::make_unique<WsTransport>(conn, link_), handshake_.request());
  if (!inner_) fail(close_code::kInternalError, "unavailable");
  return used;
}

size_t WebSocketSession::on_frames(const Block& block, std::span<uint8_t> data) {
  if (!pump_pending()) return data.size();
  size_t pos = 0;
  while ((state_ == State::kOpen || state_ == State::kClosing) && !inner_paused_) {
    size_t n = 0;
    FrameEvent ev = reader_.next(data.subspan(pos), &n);
    pos += n;
    switch (ev.kind) {
      case FrameEvent::Kind::kNeedMore:
        return pos;
      case FrameEvent::Kind::kData:
        // After our close frame the client may still send data; it is dropped.
        if (state_ == State::kOpen && !feed_inner(block, ev.payload)) return data.size();
        break;
      case FrameEvent::Kind::kPing:
        if (state_ == State::kOpen) send_control(Opcode::kPong, ev.payload);
        break;
      case FrameEvent::Kind::kPong:
        break;  // we send no pings; an unsolicited pong is allowed and means nothing
      case FrameEvent::Kind::kClose:
        if (state_ == State::kOpen) {
          // Echo the status code (RFC 6455 5.5.1); a close without one gets an empty close.
          if (ev.code == close_code::kNoStatus) {
            send_control(Opcode::kClose, {});
          } else if (auto conn = conn_.lock()) {
            conn->send(encode_close(ev.code, ""));
          }
        }
        finish();
        return data.size();
      case FrameEvent::Kind::kError:
        WLOG_DEBUG("websocket", "closing {}: {} (close code {})", peer_, ev.reason, ev.code);
        fail(ev.code, ev.reason);
        return data.size();
    }
  }
  return state_ == State::kDone ? data.size() : pos;
}

bool WebSocketSession::feed_inner(const Block& block, std::span<uint8_t> bytes) {
  if (bytes.empty()) return true;
  if (begin_ < end_ || delivering_) {
    keep_pending(bytes);
    return pump_pending();
  }
  // Nothing pending: the inner session reads the bytes where they are, in
  // the connection's block; only what it leaves is copied.
  delivering_ = true;
  size_t done = 0;
  while (done < bytes.size() && state_ == State::kOpen && !inner_paused_) {
    size_t want = 0;
    auto r = inner_->on_data(block, bytes.subspan(done), &want);
    if (!r.ok()) {
      delivering_ = false;
      return inner_failed(r.error());
    }
    inner_want_ = want;
    if (*r == 0) break;
    done += *r;
  }
  delivering_ = false;
  if (done < bytes.size() && state_ == State::kOpen) keep_pending(bytes.subspan(done));
  if (end_ - begin_ > options_.max_pending_bytes) {
    fail(close_code::kMessageTooBig, "unfinished protocol unit too big");
    return false;
  }
  return true;
}

bool WebSocketSession::pump_pending() {
  if (delivering_ || !inner_) return true;
  delivering_ = true;
  while (begin_ < end_ && state_ == State::kOpen && !inner_paused_) {
    size_t want = 0;
    auto r = inner_->on_data(pending_, std::span<uint8_t>(pending_->data() + begin_, end_ - begin_), &want);
    if (!r.ok()) {
      delivering_ = false;
      return inner_failed(r.error());
    }
    inner_want_ = want;
    if (*r == 0) break;
    begin_ += *r;
  }
  delivering_ = false;
  if (state_ != State::kOpen) begin_ = end_ = 0;  // closing: the inner session reads no more
  if (begin_ == end_) begin_ = end_ = 0;
  if (end_ - begin_ > options_.max_pending_bytes) {
    fail(close_code::kMessageTooBig, "unfinished protocol unit too big");
    return false;
  }
  return true;
}

// Appends to the pending bytes. A block the inner session still references
// (it keeps frames in place) is never written again: a fresh one is taken,
// as net::Connection does with its read blocks.
void WebSocketSession::keep_pending(std::span<const uint8_t> bytes) {
  const size_t pending = end_ - begin_;
  const bool shared = pending_ && pending_.use_count() > 1;
  if (!pending_ || shared || pending_->size() - end_ < bytes.size()) {
    if (pending_ && !shared && pending_->size() >= pending + bytes.size() && begin_ > 0) {
      std::memmove(pending_->data(), pending_->data() + begin_, pending);
    } else {
      size_t cap = std::max({pending + bytes.size(), inner_want_, size_t(4096)});
      if (pending_) cap = std::max(cap, std::min(2 * pending_->size(), options_.max_pending_bytes + bytes.size()));
      auto fresh = std::make_shared<std::vector<uint8_t>>(cap);
      if (pending) std::memcpy(fresh->data(), pending_->data() + begin_, pending);
      pending_ = std::move(fresh);
    }
    begin_ = 0;
    end_ = pending;
  }
  std::memcpy(pending_->data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

bool WebSocketSession::inner_failed(const Error& e) {
  WLOG_WARN("websocket", "closing {}: {}", peer_, e.message);
  fail(close_code::kPolicyViolation, e.message);
  return false;
}

void WebSocketSession::send_message(OutBuffer&& payload) {
  if (state_ != State::kOpen) return;  // nothing may follow our close frame
  auto conn = conn_.lock();
  if (!conn) return;
  Opcode op = Opcode::kBinary;
  if (options_.output == OutputFrames::kText) op = Opcode::kText;
  if (options_.output == OutputFrames::kTextIfValid && all_utf8(payload)) op = Opcode::kText;
  uint8_t h[kMaxServerHeader];
  payload.prepend({h, write_frame_header(h, op, payload.size())});
  conn->send(std::move(payload));
}

void WebSocketSession::send_control(Opcode op, std::span<const uint8_t> payload) {
  auto conn = conn_.lock();
  if (!conn) return;
  OutBuffer out;
  encode_frame_header(out, op, payload.size());
  out.append(payload);
  conn->send(std::move(out));
}

void WebSocketSession::send_close_and_wait(uint16_t code, std::string_view reason) {
  auto conn = conn_.lock();
  if (!conn || state_ != State::kOpen) return;
  conn->send(encode_close(code, reason));
  state_ = State::kClosing;
  begin_ = end_ = 0;
  arm_timer(options_.close_timeout);
}

void WebSocketSession::fail(uint16_t code, std::string_view reason) {
  if (state_ == State::kOpen) {
    if (auto conn = conn_.lock()) conn->send(encode_close(code, reason));
  }
  finish();
}

void WebSocketSession::finish() {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  begin_ = end_ = 0;
  ++timer_generation_;
  timer_.cancel();
  if (auto conn = conn_.lock()) conn->close_after_flush();
}

void WebSocketSession::close_from_inner() { send_close_and_wait(close_code::kNormal, ""); }

void WebSocketSession::pause_inner() {
  inner_paused_ = true;
  if (auto conn = conn_.lock()) conn->pause_reading();
}

void WebSocketSession::resume_inner() {
  inner_paused_ = false;
  // Bytes already here may hold whole units; then the socket's.
  auto conn = conn_.lock();
  if (!conn) return;
  pump_pending();
  if (!inner_paused_) conn->resume_reading();
  // Delivering may have closed the connection; the caller (the inner session,
  // which the connection owns) is still on the stack: release the connection
  // on the next turn of the event loop.
  asio::post(conn->executor(), [conn] {});
}

bool WebSocketSession::inner_reading_paused() const {
  if (inner_paused_) return true;
  auto conn = conn_.lock();
  return !conn || conn->reading_paused();
}

void WebSocketSession::on_close() {
  state_ = State::kDone;
  begin_ = end_ = 0;
  ++timer_generation_;
  timer_.cancel();
  if (inner_) inner_->on_close();
}

void WebSocketSession::on_output_drained() {
  if (inner_ && state_ == State::kOpen) inner_->on_output_drained();
}

void WebSocketSession::arm_timer(std::chrono::milliseconds after) {
  const uint64_t gen = ++timer_generation_;
  timer_.expires_after(after);
  timer_.async_wait([this, weak = conn_, gen](const asio::error_code& ec) {
    if (ec) return;
    // Alive and open connection => this session (which it owns) is alive.
    auto c = weak.lock();
    if (!c || c->closed() || gen != timer_generation_) return;
    on_timer();
    // The connection may have closed: release it on the next turn, not
    // inside its own session's timer handler.
    asio::post(c->executor(), [c] {});
  });
}

void WebSocketSession::on_timer() {
  auto conn = conn_.lock();
  if (!conn) return;
  if (state_ == State::kHandshake) {
    WLOG_DEBUG("websocket", "closing {}: no upgrade request within {} ms", peer_, options_.handshake_timeout.count());
  } else if (state_ == State::kClosing) {
    WLOG_DEBUG("websocket", "closing {}: no close frame in answer within {} ms", peer_, options_.close_timeout.count());
  } else {
    return;
  }
  state_ = State::kDone;
  conn->close();
}

}  // namespace wharf::net::websocket
