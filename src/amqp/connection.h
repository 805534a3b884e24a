// Connection: the AMQP 0-9-1 protocol state machine of one client socket, a
// net::Session (spec 2.2.4 and class connection; RabbitMQ's behaviour where
// the spec leaves a choice, since clients are tested against it).
//
//   await-header  8 bytes "AMQP" 0 0 9 1. Anything else: we answer with our
//                 header and close (spec 4.2.2); no connection.close.
//   starting      connection.start sent (server-properties, capabilities,
//                 mechanisms "PLAIN AMQPLAIN"); waits for start-ok, whose
//                 SASL response is checked by the AmqpAuth. Refused: 403
//                 ACCESS_REFUSED (connection.close only for clients with the
//                 authentication_failure_close capability, else the socket
//                 just closes, as RabbitMQ).
//   tuning        connection.tune sent; waits for tune-ok. Negotiation:
//                 channel_max and frame_max are the client's value when lower
//                 than ours, ours when the client says 0; higher than ours, or
//                 a frame_max below 4096, is 530 NOT_ALLOWED. The heartbeat is
//                 the client's value (0 disables it), as RabbitMQ.
//   opening       waits for connection.open; the vhost is checked by the
//                 AmqpAuth (refused: 530 NOT_ALLOWED). open-ok makes the
//                 ChannelHandler.
//   open          channels (channel.h) carry the work; channel 0 accepts
//                 connection.close and update-secret.
//   closing       we sent connection.close (hard error or forced close); all
//                 input is discarded except connection.close (answered with
//                 close-ok) and close-ok (closes the socket); closes anyway
//                 after kCloseTimeout. After a frame-level error the stream is
//                 out of sync, so nothing is parsed any more and the socket
//                 closes after kLostSyncGrace (time for the client to read
//                 the close).
//   closed        the client's connection.close was answered, or the socket
//                 is closing; input is ignored.
//
// Errors (reply code, then what closes):
//   frame parse errors                   501/502/540 per protocol_error.h, connection
//   content frame on channel 0           505 UNEXPECTED_FRAME, connection
//   a channel frame before open          505 UNEXPECTED_FRAME, connection
//   a connection method out of sequence  504 CHANNEL_ERROR ("unexpected method in
//                                        connection state ..."), connection
//   channel id above channel_max         530 NOT_ALLOWED, connection
//   frame for a channel that is not open 504 CHANNEL_ERROR, connection
//   assembler errors on a channel        505 / 502 connection, 406 (body over
//                                        max_message_bytes) channel
// A protocol error never affects another connection.
//
// Heartbeats (spec 4.2.7): once tuned with a non-zero interval H, a timer
// ticks every H/2; a tick with nothing sent since the previous one sends a
// heartbeat frame, and four ticks in a row with nothing received (2 H) close
// the socket (logged), unless reading was paused by us (flow control), when
// the client's heartbeats cannot be seen. Heartbeat frames from the client
// are accepted at any time.
//
// Output written while input is being handled is batched and handed to the
// transport once per on_data call, so a burst of pipelined commands costs one
// write.
//
// Ownership: held by shared_ptr (net::SharedSession forwards the
// net::Connection's callbacks), so asynchronous work can hold a weak_ptr
// (ConnectionContext::weak()). It owns its Transport, channels and handler.
// Thread rules: everything on the connection's shard thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "amqp/auth.h"
#include "amqp/channel_handler.h"
#include "amqp/config.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "amqp/transport.h"
#include "net/session.h"

namespace wharf::amqp {

class Channel;

// What every connection of one listener shares. Immutable once built, so
// any shard may read it at any time.
struct ConnectionEnv {
  AmqpConfig config;
  std::shared_ptr<const AmqpAuth> auth;  // required
  ChannelHandlerFactory handler_factory;  // required
  std::string cluster_name;               // server-properties "cluster_name"
};

class Connection final : public net::Session,
                         public ConnectionContext,
                         public std::enable_shared_from_this<Connection> {
 public:
  enum class State : uint8_t { kAwaitHeader, kStarting, kTuning, kOpening, kOpen, kClosing, kClosed };

  // How long we wait for close-ok after our connection.close (RabbitMQ's
  // CLOSING_TIMEOUT is 30 s), and how long a client whose byte stream we
  // cannot parse any more gets to read our connection.close.
  static constexpr std::chrono::seconds kCloseTimeout{30};
  static constexpr std::chrono::seconds kLostSyncGrace{3};

  Connection(std::unique_ptr<Transport> transport, std::shared_ptr<const ConnectionEnv> env, std::string peer,
             bool loopback);
  ~Connection() override;

  // net::Session
  result<size_t> on_data(const net::Block& block, std::span<uint8_t> data, size_t* want) override;
  void on_close() override;
  void on_output_drained() override;

  // ConnectionContext
  const ConnectionInfo& info() const override { return info_; }
  bool is_open() const override { return state_ == State::kOpen; }
  void close(ReplyCode code, std::string_view text, msg::MethodId cause) override;
  void block(std::string_view reason) override;
  void unblock() override;
  bool blocked() const override { return blocked_; }
  void throttle(bool on) override;
  bool output_congested() const override;
  ChannelContext* channel(uint16_t id) override;
  std::weak_ptr<ConnectionContext> weak() override { return weak_from_this(); }

  State state() const { return state_; }
  size_t open_channel_count() const { return channels_.size(); }

  // For Channel (same thread, same connection).
  ChannelHandler* handler() { return handler_.get(); }
  // Writes frames regardless of channel state (close / close-ok go out
  // after a channel stopped being open). Dropped once the connection closes.
  void write(OutBuffer&& frames);
  template <class M>
  void write_method(uint16_t channel, const M& m) {
    OutBuffer out;
    if (auto st = write_method_frame(out, channel, m, info_.frame_max); !st.ok()) {
      return internal_error(st.error(), M::kName);
    }
    write(std::move(out));
  }
  // A hard error: connection.close, then closing.
  void fail(ReplyCode code, std::string_view text, uint16_t class_id, uint16_t method_id);
  void internal_error(const Error& e, std::string_view what);
  // The client's close-ok for a channel we closed, or its channel.close.
  void remove_channel(uint16_t id);
  // A basic.publish arrived; while blocked this stops reading and tells the
  // client (connection.blocked).
  void note_publish();

 private:
  size_t on_header(std::span<uint8_t> data);
  void on_frame(const Frame& f);
  void on_frame_error(const ProtocolError& e);
  void on_closing_frame(const Frame& f);
  void on_connection_method(msg::AnyMethod&& m);
  void on_channel_frame(const Frame& f);
  void on_start_ok(msg::ConnectionStartOk&& m);
  void on_tune_ok(const msg::ConnectionTuneOk& m);
  void on_open(const msg::ConnectionOpen& m);
  void on_client_close(const msg::ConnectionClose& m);
  void refuse_login(const std::string& why, const std::string& mechanism);
  void open_channel(uint16_t id);

  // Leaves the open state for good: every channel and the handler hear
  // their close hooks (once).
  void shut_down_channels();
  // Closes the socket now (timeouts) or after flushing (close-ok sent).
  void close_socket(bool flush_first);
  void flush();
  void rearm_timer();
  void on_timer();
  std::string log_name() const;

  std::unique_ptr<Transport> transport_;
  std::shared_ptr<const ConnectionEnv> env_;
  ConnectionInfo info_;
  State state_ = State::kAwaitHeader;
  FrameParser parser_;  // kFrameMinSize until tune-ok

  std::unordered_map<uint16_t, std::shared_ptr<Channel>> channels_;
  std::unique_ptr<ChannelHandler> handler_;
  bool hooks_done_ = false;  // shut_down_channels ran

  // Output written while handling input, sent at the end of on_data.
  OutBuffer pending_out_;
  bool in_input_ = false;

  bool lost_sync_ = false;      // a frame error: input is no longer parsed
  bool blocked_ = false;        // block() in force
  bool throttled_ = false;  // throttle(true): input not read until throttle(false)
  bool paused_for_block_ = false;  // we stopped reading because of it (and sent connection.blocked)
  std::string block_reason_;

  // Timers: one transport timer serves the earliest of these.
  using Clock = Transport::Clock;
  std::optional<Clock::time_point> handshake_deadline_;
  std::optional<Clock::time_point> close_deadline_;
  std::optional<Clock::time_point> next_heartbeat_tick_;
  // Heartbeat accounting: counters compared from tick to tick, so the data
  // path only increments integers and never reads the clock.
  uint64_t frames_sent_ = 0, sent_at_last_tick_ = 0;
  uint64_t bytes_received_ = 0, received_at_last_tick_ = 0;
  int silent_ticks_ = 0;
};

// Reply text as RabbitMQ writes it: "NOT_FOUND - no queue 'q'", cut to the
// 255 bytes a short string holds.
std::string reply_text(ReplyCode code, std::string_view text);

}  // namespace wharf::amqp
