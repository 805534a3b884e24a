// Channel: one AMQP channel of a Connection (spec 2.2.5, class channel).
//
// States:
//   open      created by channel.open (open-ok sent). Frames go through the
//             channel's CommandAssembler; channel.* and access.request are
//             answered here, every other command goes to the ChannelHandler.
//   closing   we sent channel.close (a soft error). Until the client's
//             close-ok every incoming frame of the channel is dropped, except
//             a crossing channel.close, which gets close-ok (spec 4.2.7 /
//             class channel, "close").
//   gone      closed by the client (close-ok sent), after our close's
//             close-ok, or because the connection closed. The Connection no
//             longer lists it; a shared_ptr still held elsewhere sees
//             is_open() == false and every send is dropped.
//
// The ChannelHandler hears on_channel_close exactly once, when the channel
// leaves `open`.
//
// Ownership: the Connection holds the only long-lived shared_ptr; others hold
// weak_ptrs (ChannelContext::weak()). conn_ is valid until detach(), which the
// Connection calls before forgetting the channel or dying.
// Thread rules: the connection's shard thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "amqp/channel_handler.h"
#include "amqp/protocol/command_assembler.h"
#include "amqp/protocol/frame.h"

namespace wharf::amqp {

class Connection;

class Channel final : public ChannelContext, public std::enable_shared_from_this<Channel> {
 public:
  enum class State : uint8_t { kOpen, kClosing, kGone };

  Channel(Connection& conn, uint16_t id, uint64_t max_body_size);

  // ChannelContext
  uint16_t id() const override { return id_; }
  bool is_open() const override { return state_ == State::kOpen && conn_ != nullptr; }
  bool flow_active() const override { return flow_active_; }
  ConnectionContext& connection() override;
  std::weak_ptr<ChannelContext> weak() override { return weak_from_this(); }
  void fail(ReplyCode code, std::string_view text, msg::MethodId cause) override;

  State state() const { return state_; }

  // A method, header or body frame of this channel. REQUIRES: attached.
  void on_frame(const Frame& f);
  // The connection is closing: leave `open` (telling the handler) and stop
  // talking. Idempotent.
  void shutdown();
  // Forget the connection; afterwards the channel is inert.
  void detach();

 protected:
  uint32_t frame_max() const override;
  void send_frames(OutBuffer&& frames) override;
  void encode_failed(const Error& e, std::string_view what) override;

 private:
  void on_closing_frame(const Frame& f);
  void on_command(Command&& cmd);
  // Leaves `open`: resets the assembler and tells the handler once.
  void leave_open(State next);

  Connection* conn_;
  const uint16_t id_;
  State state_ = State::kOpen;
  bool flow_active_ = true;
  CommandAssembler assembler_;
};

}  // namespace wharf::amqp
