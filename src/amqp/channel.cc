#include "amqp/channel.h"

#include <cassert>

#include "amqp/connection.h"
#include "base/logging.h"

namespace wharf::amqp {

Channel::Channel(Connection& conn, uint16_t id, uint64_t max_body_size)
    : conn_(&conn), id_(id), assembler_(id, max_body_size) {}

ConnectionContext& Channel::connection() {
  assert(conn_ && "channel used after its connection let go of it");
  return *conn_;
}

uint32_t Channel::frame_max() const { return conn_ ? conn_->info().frame_max : kFrameMinSize; }

void Channel::send_frames(OutBuffer&& frames) {
  if (is_open()) conn_->write(std::move(frames));
}

void Channel::encode_failed(const Error& e, std::string_view what) {
  if (conn_) conn_->internal_error(e, what);
}

void Channel::on_frame(const Frame& f) {
  assert(conn_);
  if (state_ == State::kClosing) return on_closing_frame(f);
  if (state_ != State::kOpen) return;
  AssembleResult r = assembler_.add(f);
  switch (r.status) {
    case AssembleResult::kNeedMore:
      return;
    case AssembleResult::kError:
      if (r.error.closes_connection()) {
        return conn_->fail(r.error.reply_code(), r.error.text, r.error.class_id, r.error.method_id);
      }
      return fail(r.error.reply_code(), r.error.text, msg::make_method_id(r.error.class_id, r.error.method_id));
    case AssembleResult::kCommand:
      return on_command(std::move(r.command));
  }
}

void Channel::on_closing_frame(const Frame& f) {
  // Spec (channel.close): after sending close, discard every frame of the
  // channel until close-ok. A crossing channel.close is answered so the
  // client's own close completes.
  if (f.type != FrameType::Method) return;
  auto m = msg::decode_method_payload(f.payload);
  if (!m.ok()) return;
  if (std::holds_alternative<msg::ChannelCloseOk>(*m)) {
    state_ = State::kGone;
    conn_->remove_channel(id_);  // detaches us; conn_ is null afterwards
  } else if (std::holds_alternative<msg::ChannelClose>(*m)) {
    conn_->write_method(id_, msg::ChannelCloseOk{});
  }
}

void Channel::on_command(Command&& cmd) {
  const msg::MethodId id = msg::id_of(cmd.method);
  switch (id) {
    case msg::MethodId::ChannelOpen:
      return conn_->fail(ReplyCode::CHANNEL_ERROR, "second 'channel.open' seen on channel " + std::to_string(id_),
                         msg::class_id_of(id), msg::method_id_of(id));
    case msg::MethodId::ChannelClose: {
      const auto& c = std::get<msg::ChannelClose>(cmd.method);
      WLOG_DEBUG("amqp", "connection {} channel {}: closed by client: {} {}", conn_->info().id, id_, c.reply_code,
                 c.reply_text);
      leave_open(State::kGone);
      conn_->write_method(id_, msg::ChannelCloseOk{});
      conn_->remove_channel(id_);
      return;
    }
    case msg::MethodId::ChannelFlow: {
      // active=false asks us to stop sending content; the handler (which
      // produces deliveries) honours flow_active(). Publishing is unaffected.
      flow_active_ = std::get<msg::ChannelFlow>(cmd.method).active;
      send(msg::ChannelFlowOk{flow_active_});
      if (ChannelHandler* h = conn_->handler()) h->on_flow(*this, flow_active_);
      return;
    }
    case msg::MethodId::AccessRequest:
      // Deprecated in 0-9-1 (access tickets); RabbitMQ grants ticket 1.
      return send(msg::AccessRequestOk{1});
    default:
      break;
  }
  const uint16_t class_id = msg::class_id_of(id);
  if (class_id == uint16_t(msg::ClassId::Connection) || class_id == uint16_t(msg::ClassId::Channel) ||
      class_id == uint16_t(msg::ClassId::Access)) {
    // Replies to methods we never send (open-ok, flow-ok, close-ok outside a
    // close), or connection methods off channel 0.
    return conn_->fail(ReplyCode::COMMAND_INVALID,
                       std::string(msg::name_of(cmd.method)) + " is not valid on channel " + std::to_string(id_),
                       class_id, msg::method_id_of(id));
  }
  if (id == msg::MethodId::BasicPublish) conn_->note_publish();
  if (ChannelHandler* h = conn_->handler()) h->on_command(*this, std::move(cmd));
}

void Channel::fail(ReplyCode code, std::string_view text, msg::MethodId cause) {
  if (!conn_) return;
  const uint16_t class_id = msg::class_id_of(cause), method_id = msg::method_id_of(cause);
  if (is_hard_error(code)) return conn_->fail(code, text, class_id, method_id);
  if (state_ != State::kOpen) return;
  WLOG_DEBUG("amqp", "connection {} channel {}: channel error {} {}: {}", conn_->info().id, id_, uint16_t(code),
             reply_code_name(code), text);
  msg::ChannelClose close;
  close.reply_code = uint16_t(code);
  close.reply_text = reply_text(code, text);
  close.class_id = class_id;
  close.method_id = method_id;
  conn_->write_method(id_, close);
  leave_open(State::kClosing);
}

void Channel::leave_open(State next) {
  if (state_ != State::kOpen) {
    state_ = next == State::kGone ? next : state_;
    return;
  }
  state_ = next;
  assembler_.reset();
  if (conn_) {
    if (ChannelHandler* h = conn_->handler()) h->on_channel_close(*this);
  }
}

void Channel::shutdown() { leave_open(State::kGone); }

void Channel::detach() {
  shutdown();
  conn_ = nullptr;
}

}  // namespace wharf::amqp
