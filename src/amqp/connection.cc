#include "amqp/connection.h"

#include <algorithm>
#include <atomic>
#include <cassert>

#include "amqp/channel.h"
#include "amqp/protocol/protocol_header.h"
#include "amqp/sasl.h"
#include "amqp/server_properties.h"
#include "base/logging.h"
#include "broker/client_ids.h"

namespace wharf::amqp {

namespace {

std::string_view state_name(Connection::State s) {
  switch (s) {
    case Connection::State::kAwaitHeader: return "awaiting protocol header";
    case Connection::State::kStarting: return "starting";
    case Connection::State::kTuning: return "tuning";
    case Connection::State::kOpening: return "opening";
    case Connection::State::kOpen: return "open";
    case Connection::State::kClosing: return "closing";
    case Connection::State::kClosed: return "closed";
  }
  return "?";
}

}  // namespace

std::string reply_text(ReplyCode code, std::string_view text) {
  std::string s(reply_code_name(code));
  s += " - ";
  s += text;
  if (s.size() > Writer::kMaxShortStr) s.resize(Writer::kMaxShortStr);
  return s;
}

bool ConnectionInfo::client_has(std::string_view name) const {
  const FieldValue* v = client_capabilities.find(name);
  return v && v->is<bool>() && *v->get_if<bool>();
}

Connection::Connection(std::unique_ptr<Transport> transport, std::shared_ptr<const ConnectionEnv> env,
                       std::string peer, bool loopback)
    : transport_(std::move(transport)), env_(std::move(env)) {
  assert(env_->auth && env_->handler_factory);
  info_.id = broker::next_connection_id();
  info_.peer = std::move(peer);
  info_.loopback = loopback;
  // Until tune-ok only kFrameMinSize frames are allowed either way.
  info_.frame_max = kFrameMinSize;
  info_.max_message_bytes = env_->config.max_message_bytes;
  handshake_deadline_ =
      transport_->now() + std::chrono::milliseconds(std::max<uint32_t>(env_->config.handshake_timeout_ms, 1));
  rearm_timer();
}

Connection::~Connection() {
  shut_down_channels();
  for (auto& [id, ch] : channels_) ch->detach();
}

std::string Connection::log_name() const {
  std::string s = "connection " + std::to_string(info_.id) + " (" + info_.peer;
  if (!info_.principal.user.empty()) s += ", user '" + info_.principal.user + "'";
  if (!info_.vhost.empty()) s += ", vhost '" + info_.vhost + "'";
  return s + ")";
}

// ---- input -----------------------------------------------------------------

result<size_t> Connection::on_data(const net::Block&, std::span<uint8_t> data, size_t* want) {
  if (state_ == State::kClosed || lost_sync_) return data.size();  // discarded
  bytes_received_ += data.size();
  in_input_ = true;
  size_t used = 0;
  if (state_ == State::kAwaitHeader) used = on_header(data);
  while (used < data.size() && state_ != State::kAwaitHeader && state_ != State::kClosed && !lost_sync_ &&
         !paused_for_block_ && !throttled_) {
    const FrameParse p = parser_.parse(data.subspan(used));
    if (p.status == FrameParse::kNeedMore) {
      *want = p.size;
      break;
    }
    if (p.status == FrameParse::kError) {
      on_frame_error(p.error);
      break;
    }
    used += p.size;
    on_frame(p.frame);
  }
  in_input_ = false;
  flush();
  // Input that will never be parsed is consumed, so the connection keeps
  // reading (and the client never sees a reset for unread data).
  if (state_ == State::kClosed || lost_sync_) return data.size();
  return used;
}

size_t Connection::on_header(std::span<uint8_t> data) {
  switch (check_protocol_header(data)) {
    case HeaderCheck::kNeedMore:
      return 0;
    case HeaderCheck::kMismatch: {
      WLOG_DEBUG("amqp", "{}: not an AMQP 0-9-1 protocol header; answering with ours and closing", log_name());
      OutBuffer out;
      out.append(kProtocolHeader.data(), kProtocolHeader.size());
      write(std::move(out));
      close_socket(/*flush_first=*/true);
      return data.size();
    }
    case HeaderCheck::kOk:
      break;
  }
  msg::ConnectionStart start;
  start.version_major = kVersionMajor;
  start.version_minor = kVersionMinor;
  start.server_properties = server_properties(env_->cluster_name);
  start.mechanisms = std::string(kSaslMechanisms);
  start.locales = "en_US";
  state_ = State::kStarting;
  write_method(0, start);
  return kProtocolHeader.size();
}

void Connection::on_frame_error(const ProtocolError& e) {
  if (state_ == State::kClosing) {
    close_socket(/*flush_first=*/false);
    return;
  }
  // Where one frame went wrong, the next one cannot be found reliably.
  fail(e.reply_code(), e.text, e.class_id, e.method_id);
  lost_sync_ = true;
  close_deadline_ = transport_->now() + kLostSyncGrace;
  rearm_timer();
}

void Connection::on_frame(const Frame& f) {
  if (state_ == State::kClosing) return on_closing_frame(f);
  if (state_ == State::kClosed) return;
  if (f.type == FrameType::Heartbeat) return;  // its arrival already counted
  if (f.channel != 0) return on_channel_frame(f);
  if (f.type != FrameType::Method) {
    return fail(ReplyCode::UNEXPECTED_FRAME,
                std::string("unexpected ") + std::string(frame_type_name(uint8_t(f.type))) + " frame on channel 0", 0,
                0);
  }
  auto m = msg::decode_method_payload(f.payload);
  if (!m.ok()) {
    uint16_t cid = f.payload.size() >= 4 ? uint16_t(f.payload[0] << 8 | f.payload[1]) : 0;
    uint16_t mid = f.payload.size() >= 4 ? uint16_t(f.payload[2] << 8 | f.payload[3]) : 0;
    return fail(m.code() == Errc::kUnsupported ? ReplyCode::NOT_IMPLEMENTED : ReplyCode::SYNTAX_ERROR,
                m.error().message, cid, mid);
  }
  on_connection_method(std::move(*m));
}

void Connection::on_closing_frame(const Frame& f) {
  // Only connection.close and close-ok still mean something (spec: after
  // sending close, discard everything until close-ok).
  if (f.channel != 0 || f.type != FrameType::Method) return;
  auto m = msg::decode_method_payload(f.payload);
  if (!m.ok()) return;
  if (std::holds_alternative<msg::ConnectionCloseOk>(*m)) {
    WLOG_DEBUG("amqp", "{}: close-ok received", log_name());
    close_socket(/*flush_first=*/true);
  } else if (std::holds_alternative<msg::ConnectionClose>(*m)) {
    // Both sides closed at once: answer theirs, keep waiting for ours.
    write_method(0, msg::ConnectionCloseOk{});
  }
}

void Connection::on_connection_method(msg::AnyMethod&& m) {
  if (auto* close = std::get_if<msg::ConnectionClose>(&m)) return on_client_close(*close);
  switch (state_) {
    case State::kStarting:
      if (auto* x = std::get_if<msg::ConnectionStartOk>(&m)) return on_start_ok(std::move(*x));
      break;
    case State::kTuning:
      if (auto* x = std::get_if<msg::ConnectionTuneOk>(&m)) return on_tune_ok(*x);
      break;
    case State::kOpening:
      if (auto* x = std::get_if<msg::ConnectionOpen>(&m)) return on_open(*x);
      break;
    case State::kOpen:
      if (std::holds_alternative<msg::ConnectionUpdateSecret>(m)) {
        // PLAIN and AMQPLAIN carry no expiring secret; nothing to re-check.
        WLOG_DEBUG("amqp", "{}: update-secret ({})", log_name(), std::get<msg::ConnectionUpdateSecret>(m).reason);
        return write_method(0, msg::ConnectionUpdateSecretOk{});
      }
      break;
    default:
      break;
  }
  const msg::MethodId id = msg::id_of(m);
  fail(ReplyCode::CHANNEL_ERROR,
       "unexpected method " + std::string(msg::name_of(m)) + " in connection state " +
           std::string(state_name(state_)),
       msg::class_id_of(id), msg::method_id_of(id));
}

// ---- handshake -------------------------------------------------------------

void Connection::on_start_ok(msg::ConnectionStartOk&& m) {
  info_.client_properties = std::move(m.client_properties);
  if (const FieldValue* caps = info_.client_properties.find("capabilities")) {
    if (const auto* t = caps->get_if<FieldTable>()) info_.client_capabilities = *t;
  }
  auto creds = decode_sasl_response(m.mechanism, m.response);
  if (!creds.ok()) {
    // RabbitMQ: an unknown mechanism is COMMAND_INVALID, an undecodable
    // response SYNTAX_ERROR.
    const ReplyCode code = creds.code() == Errc::kUnsupported ? ReplyCode::COMMAND_INVALID : ReplyCode::SYNTAX_ERROR;
    return fail(code, creds.error().message, msg::ConnectionStartOk::kClassId, msg::ConnectionStartOk::kMethodId);
  }
  auto principal = env_->auth->authenticate(*creds, info_.loopback);
  if (!principal.ok()) return refuse_login(principal.error().message, creds->mechanism);
  info_.principal = std::move(*principal);
  state_ = State::kTuning;
  msg::ConnectionTune tune;
  tune.channel_max = env_->config.channel_max;
  tune.frame_max = env_->config.frame_max;
  tune.heartbeat = env_->config.heartbeat_s;
  write_method(0, tune);
}

void Connection::refuse_login(const std::string& why, const std::string& mechanism) {
  WLOG_WARN("amqp", "{}: login refused using {}: {}", log_name(), mechanism, why);
  if (!info_.client_has("authentication_failure_close")) {
    // Older clients do not expect a connection.close during the handshake.
    close_socket(/*flush_first=*/true);
    return;
  }
  // The reason stays in our log: the client learns only that it was refused,
  // so user names cannot be probed.
  fail(ReplyCode::ACCESS_REFUSED,
       "Login was refused using authentication mechanism " + mechanism + ". For details see the broker logfile.", 0,
       0);
}

void Connection::on_tune_ok(const msg::ConnectionTuneOk& m) {
  const auto& cfg = env_->config;
  auto refuse = [&](std::string_view field, uint32_t value, std::string_view rel, uint32_t bound) {
    fail(ReplyCode::NOT_ALLOWED,
         "negotiated " + std::string(field) + " = " + std::to_string(value) + " is " + std::string(rel) +
             " allowed value (" + std::to_string(bound) + ")",
         msg::ConnectionTuneOk::kClassId, msg::ConnectionTuneOk::kMethodId);
  };
  if (m.frame_max != 0 && m.frame_max < kFrameMinSize) {
    return refuse("frame_max", m.frame_max, "lower than the minimum", kFrameMinSize);
  }
  if (m.frame_max > cfg.frame_max) return refuse("frame_max", m.frame_max, "higher than the maximum", cfg.frame_max);
  if (m.channel_max > cfg.channel_max) {
    return refuse("channel_max", m.channel_max, "higher than the maximum", cfg.channel_max);
  }
  info_.frame_max = m.frame_max == 0 ? cfg.frame_max : m.frame_max;
  info_.channel_max = m.channel_max == 0 ? cfg.channel_max : m.channel_max;
  info_.heartbeat_s = m.heartbeat;
  parser_.set_frame_max(info_.frame_max);
  state_ = State::kOpening;
  if (info_.heartbeat_s > 0) {
    sent_at_last_tick_ = frames_sent_;
    received_at_last_tick_ = bytes_received_;
    next_heartbeat_tick_ = transport_->now() + std::chrono::milliseconds(info_.heartbeat_s * 500);
    rearm_timer();
  }
}

void Connection::on_open(const msg::ConnectionOpen& m) {
  if (auto st = env_->auth->can_access_vhost(info_.principal, m.virtual_host); !st.ok()) {
    return fail(ReplyCode::NOT_ALLOWED, st.error().message, msg::ConnectionOpen::kClassId,
                msg::ConnectionOpen::kMethodId);
  }
  info_.vhost = m.virtual_host;
  state_ = State::kOpen;
  handshake_deadline_.reset();
  rearm_timer();
  write_method(0, msg::ConnectionOpenOk{});
  WLOG_DEBUG("amqp", "{}: open (channel_max {}, frame_max {}, heartbeat {} s)", log_name(), info_.channel_max,
             info_.frame_max, info_.heartbeat_s);
  handler_ = env_->handler_factory(*this);
}

// ---- channels --------------------------------------------------------------

void Connection::on_channel_frame(const Frame& f) {
  if (state_ != State::kOpen) {
    return fail(ReplyCode::UNEXPECTED_FRAME,
                std::string(frame_type_name(uint8_t(f.type))) + " frame on channel " + std::to_string(f.channel) +
                    " before the connection is open",
                0, 0);
  }
  if (f.channel > info_.channel_max) {
    return fail(ReplyCode::NOT_ALLOWED,
                "channel " + std::to_string(f.channel) + " is above the negotiated channel_max (" +
                    std::to_string(info_.channel_max) + ")",
                0, 0);
  }
  if (auto it = channels_.find(f.channel); it != channels_.end()) {
    // A local reference: the frame may end in the channel's removal.
    std::shared_ptr<Channel> ch = it->second;
    return ch->on_frame(f);
  }
  if (f.type != FrameType::Method) {
    return fail(ReplyCode::CHANNEL_ERROR,
                std::string(frame_type_name(uint8_t(f.type))) + " frame on channel " + std::to_string(f.channel) +
                    ", which is not open",
                0, 0);
  }
  auto m = msg::decode_method_payload(f.payload);
  if (!m.ok()) {
    uint16_t cid = f.payload.size() >= 4 ? uint16_t(f.payload[0] << 8 | f.payload[1]) : 0;
    uint16_t mid = f.payload.size() >= 4 ? uint16_t(f.payload[2] << 8 | f.payload[3]) : 0;
    return fail(m.code() == Errc::kUnsupported ? ReplyCode::NOT_IMPLEMENTED : ReplyCode::SYNTAX_ERROR,
                m.error().message, cid, mid);
  }
  if (std::holds_alternative<msg::ChannelOpen>(*m)) return open_channel(f.channel);
  const msg::MethodId id = msg::id_of(*m);
  fail(ReplyCode::CHANNEL_ERROR,
       "expected 'channel.open' on channel " + std::to_string(f.channel) + ", got " + std::string(msg::name_of(*m)),
       msg::class_id_of(id), msg::method_id_of(id));
}

void Connection::open_channel(uint16_t id) {
  auto ch = std::make_shared<Channel>(*this, id, info_.max_message_bytes);
  channels_.emplace(id, ch);
  write_method(id, msg::ChannelOpenOk{});
  if (handler_) handler_->on_channel_open(*ch);
}

void Connection::remove_channel(uint16_t id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  it->second->detach();
  channels_.erase(it);
}

ChannelContext* Connection::channel(uint16_t id) {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second.get();
}

void Connection::shut_down_channels() {
  if (hooks_done_) return;
  hooks_done_ = true;
  // Copy: a hook may close or remove channels.
  std::vector<std::shared_ptr<Channel>> chans;
  chans.reserve(channels_.size());
  for (auto& [id, ch] : channels_) chans.push_back(ch);
  for (auto& ch : chans) ch->shutdown();
  if (handler_) handler_->on_connection_close(*this);
}

// ---- closing ---------------------------------------------------------------

void Connection::on_client_close(const msg::ConnectionClose& m) {
  WLOG_DEBUG("amqp", "{}: closed by client: {} {}", log_name(), m.reply_code, m.reply_text);
  state_ = State::kClosed;
  shut_down_channels();
  // close-ok is the last thing we send (spec: the peer may close the socket
  // once it has it).
  write_method(0, msg::ConnectionCloseOk{});
  close_socket(/*flush_first=*/true);
}

void Connection::fail(ReplyCode code, std::string_view text, uint16_t class_id, uint16_t method_id) {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  if (code == ReplyCode::CONNECTION_FORCED) {
    WLOG_INFO("amqp", "{}: closing: {}", log_name(), text);
  } else {
    const msg::MethodInfo* info = class_id ? msg::find_method(msg::make_method_id(class_id, method_id)) : nullptr;
    std::string_view cause = info ? info->name : "";
    WLOG_WARN("amqp", "{}: connection error {} {}{}{}: {}", log_name(), uint16_t(code), reply_code_name(code),
              cause.empty() ? "" : " in ", cause, text);
  }
  // The state changes first: a close hook that fails again finds the
  // connection already closing.
  state_ = State::kClosing;
  shut_down_channels();
  msg::ConnectionClose close;
  close.reply_code = uint16_t(code);
  close.reply_text = reply_text(code, text);
  close.class_id = class_id;
  close.method_id = method_id;
  write_method(0, close);
  // Only the close timeout is left to watch.
  handshake_deadline_.reset();
  next_heartbeat_tick_.reset();
  close_deadline_ = transport_->now() + kCloseTimeout;
  rearm_timer();
  flush();
}

void Connection::close(ReplyCode code, std::string_view text, msg::MethodId cause) {
  fail(code, text, msg::class_id_of(cause), msg::method_id_of(cause));
}

void Connection::internal_error(const Error& e, std::string_view what) {
  // We built a frame we cannot send: a broker bug, not the client's.
  WLOG_ERROR("amqp", "{}: cannot encode {}: {}", log_name(), what, e.message);
  if (state_ == State::kClosing || state_ == State::kClosed) return close_socket(false);
  fail(ReplyCode::INTERNAL_ERROR, "internal error while encoding " + std::string(what), 0, 0);
}

void Connection::close_socket(bool flush_first) {
  if (state_ != State::kClosed) {
    state_ = State::kClosed;
    shut_down_channels();
  }
  handshake_deadline_.reset();
  close_deadline_.reset();
  next_heartbeat_tick_.reset();
  transport_->disarm_timer();
  flush();
  if (flush_first) {
    transport_->close_after_flush();
  } else {
    transport_->close();
  }
}

void Connection::on_close() {
  // The socket is gone (peer, error, shutdown, or our close_socket).
  if (state_ != State::kClosed) {
    WLOG_DEBUG("amqp", "{}: socket closed in state {}", log_name(), state_name(state_));
    state_ = State::kClosed;
    shut_down_channels();
  }
  pending_out_.clear();
  transport_->disarm_timer();
}

// ---- output and flow control -------------------------------------------------

void Connection::write(OutBuffer&& frames) {
  ++frames_sent_;
  if (in_input_) {
    pending_out_.append_buffer(std::move(frames));
  } else {
    transport_->send(std::move(frames));
  }
}

void Connection::flush() {
  if (pending_out_.empty()) return;
  OutBuffer out = std::move(pending_out_);
  pending_out_.clear();
  transport_->send(std::move(out));
}

bool Connection::output_congested() const {
  return transport_->queued_output_bytes() + pending_out_.size() > kOutputHighWater;
}

void Connection::on_output_drained() {
  if (state_ == State::kOpen && handler_) handler_->on_writable(*this);
}

// RabbitMQ's throttling: an alarm marks every connection as blocking, but a
// connection is only held, and only told (connection.blocked), once it
// publishes; connections that only consume go on undisturbed and never see
// connection.blocked (so a client's blocked_connection_timeout does not
// close them). connection.unblocked goes only to those that were told.
void Connection::block(std::string_view reason) {
  if (blocked_) return;
  blocked_ = true;
  block_reason_ = std::string(reason);
}

void Connection::unblock() {
  if (!blocked_) return;
  blocked_ = false;
  if (!paused_for_block_) return;
  paused_for_block_ = false;
  if (state_ == State::kOpen && info_.client_has("connection.blocked")) write_method(0, msg::ConnectionUnblocked{});
  WLOG_INFO("amqp", "{}: unblocked: reading again", log_name());
  // Heartbeats could not be read meanwhile; start counting afresh.
  silent_ticks_ = 0;
  if (!throttled_) transport_->resume_reading();  // else throttle(false) reads again
}

void Connection::throttle(bool on) {
  if (on == throttled_) return;
  throttled_ = on;
  if (on) return transport_->pause_reading();
  if (!paused_for_block_) transport_->resume_reading();
}

void Connection::note_publish() {
  if (!blocked_ || paused_for_block_) return;
  paused_for_block_ = true;
  transport_->pause_reading();
  if (state_ == State::kOpen && info_.client_has("connection.blocked")) {
    write_method(0, msg::ConnectionBlocked{block_reason_});
  }
  // Once per blocked period and connection: operators see who is held.
  WLOG_INFO("amqp", "{}: blocked ({}): stopped reading after a publish until the alarm clears", log_name(),
            block_reason_);
}

// ---- timers ------------------------------------------------------------------

void Connection::rearm_timer() {
  std::optional<Clock::time_point> next;
  for (const auto& d : {handshake_deadline_, close_deadline_, next_heartbeat_tick_}) {
    if (d && (!next || *d < *next)) next = d;
  }
  if (!next) return transport_->disarm_timer();
  transport_->arm_timer(*next, [this] { on_timer(); });
}

void Connection::on_timer() {
  if (state_ == State::kClosed) return;
  const Clock::time_point now = transport_->now();
  if (handshake_deadline_ && now >= *handshake_deadline_ && state_ != State::kClosing) {
    WLOG_WARN("amqp", "{}: handshake not finished within {} ms (state {}); closing", log_name(),
              env_->config.handshake_timeout_ms, state_name(state_));
    return close_socket(/*flush_first=*/false);
  }
  if (close_deadline_ && now >= *close_deadline_) {
    WLOG_DEBUG("amqp", "{}: no close-ok from the client in time; closing the socket", log_name());
    return close_socket(/*flush_first=*/false);
  }
  if (next_heartbeat_tick_ && now >= *next_heartbeat_tick_ && state_ != State::kClosing) {
    if (frames_sent_ == sent_at_last_tick_) {
      OutBuffer hb;
      write_heartbeat_frame(hb);
      write(std::move(hb));
    }
    sent_at_last_tick_ = frames_sent_;
    const bool cannot_hear = paused_for_block_ || throttled_ || transport_->reading_paused();
    if (bytes_received_ != received_at_last_tick_ || cannot_hear) {
      silent_ticks_ = 0;
    } else if (++silent_ticks_ >= 4) {  // ticks are H/2 apart: 2 H of silence
      WLOG_WARN("amqp", "{}: missed heartbeats from client, timeout: {} s; closing", log_name(), info_.heartbeat_s);
      return close_socket(/*flush_first=*/false);
    }
    received_at_last_tick_ = bytes_received_;
    next_heartbeat_tick_ = now + std::chrono::milliseconds(info_.heartbeat_s * 500);
  }
  rearm_timer();
}

}  // namespace wharf::amqp
