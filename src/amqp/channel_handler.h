// The seam between the AMQP connection/channel layer (connection.h,
// channel.h) and the broker semantics behind it (exchanges, queues,
// consumers, confirms, transactions).
//
// The connection layer owns the wire: handshake, heartbeats, frame limits,
// channel.open/close/flow, error replies. Every other complete command on an
// open channel (exchange.*, queue.*, basic.*, confirm.*, tx.*) goes to a
// ChannelHandler, which answers through the ChannelContext it is given.
//
//   ChannelHandlerFactory   called once per connection, at connection.open-ok
//   ChannelHandler          one per connection; sees every channel of it
//   ConnectionContext       the connection as the handler sees it
//   ChannelContext          one open channel: send methods and content, fail
//
// Life cycle, in order, for one connection:
//   factory(conn)                      after connection.open-ok was sent
//   on_channel_open(ch)                after channel.open-ok was sent
//   on_command(ch, cmd)*               commands of that channel, in wire order
//   on_channel_close(ch)               exactly once per opened channel, when it
//                                      stops being usable: the client's
//                                      channel.close, our channel.close (soft
//                                      error), or the connection closing.
//                                      Requeue its unacked messages and cancel
//                                      its consumers here.
//   on_connection_close(conn)          exactly once, after every channel's
//                                      on_channel_close; delete exclusive
//                                      queues here. The handler is destroyed
//                                      afterwards.
//
// Thread rules: everything here runs on the connection's shard thread. Work
// done on other shards must come back to this shard (Shards::call) before
// touching a context, and must hold a std::weak_ptr (ChannelContext::weak(),
// ConnectionContext::weak()) across the hop, never a reference: the channel
// or connection may be gone when the answer arrives. A channel id reused
// after close is a new ChannelContext, so a stale weak_ptr never reaches it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "amqp/auth.h"
#include "amqp/protocol/command_assembler.h"
#include "amqp/protocol/field_table.h"
#include "amqp/protocol/frame_writer.h"
#include "amqp/protocol/generated/constants.h"
#include "amqp/protocol/generated/methods.h"
#include "base/file_slice.h"
#include "base/out_buffer.h"
#include "base/result.h"

namespace wharf::amqp {

// Facts about a connection, fixed once connection.open-ok was sent.
struct ConnectionInfo {
  uint64_t id = 0;             // unique in this process, for logs and ownership (exclusive queues)
  std::string peer;            // "127.0.0.1:40312"
  bool loopback = false;       // peer is a loopback address
  Principal principal;         // authenticated user
  std::string vhost;           // from connection.open
  FieldTable client_properties;  // from connection.start-ok (product, version, capabilities...)
  FieldTable client_capabilities;  // client_properties["capabilities"], or empty
  // Negotiated in tune / tune-ok.
  uint16_t channel_max = 0;    // highest channel id the client may open
  uint32_t frame_max = 0;      // whole frame, 8 octets of overhead included
  uint16_t heartbeat_s = 0;    // 0: no heartbeats
  uint64_t max_message_bytes = 0;

  // True if the client advertised `name` = true in its capabilities table
  // (e.g. "consumer_cancel_notify", "connection.blocked").
  bool client_has(std::string_view name) const;
};

class ChannelContext;

class ConnectionContext {
 public:
  virtual ~ConnectionContext() = default;

  virtual const ConnectionInfo& info() const = 0;
  // False once the connection is closing (either side sent connection.close)
  // or closed; everything sent then is dropped.
  virtual bool is_open() const = 0;

  // Closes the connection with a hard error (or 320 CONNECTION_FORCED):
  // connection.close is sent, every channel and the handler are closed, and
  // the socket closes after close-ok or a timeout. `text` is prefixed with
  // the code's name ("NOT_ALLOWED - ...") as RabbitMQ does.
  virtual void close(ReplyCode code, std::string_view text, msg::MethodId cause) = 0;

  // Flow control (resource alarms), as RabbitMQ: after block() the
  // connection's next basic.publish is handled, then the socket is no longer
  // read and clients that advertised the "connection.blocked" capability are
  // sent connection.blocked (connections that do not publish are neither
  // held nor told); unblock() reads again and sends connection.unblocked to
  // those that were told. Idempotent; block() during the handshake takes
  // effect once the connection is open.
  virtual void block(std::string_view reason) = 0;
  virtual void unblock() = 0;
  virtual bool blocked() const = 0;

  // Internal backpressure (RabbitMQ's credit flow): while throttled, no more
  // input is read from this client, without telling it (unlike block()).
  // A handler whose work for other shards piles up throttles its
  // connection until that work caught up. Idempotent.
  virtual void throttle(bool on) = 0;

  // Output backpressure: true while more than kOutputHighWater bytes wait to
  // be written to this client. Producers of unsolicited output (deliveries)
  // stop then and continue in ChannelHandler::on_writable. Replies to the
  // client's own commands are always sent.
  virtual bool output_congested() const = 0;

  // The open (or closing) channel with this id, or nullptr.
  virtual ChannelContext* channel(uint16_t id) = 0;

  virtual std::weak_ptr<ConnectionContext> weak() = 0;
};

// Unsolicited output is paused above this many queued bytes.
inline constexpr size_t kOutputHighWater = 4 << 20;

class ChannelContext {
 public:
  virtual ~ChannelContext() = default;

  virtual uint16_t id() const = 0;
  // False once channel.close was sent or received (sends are dropped then,
  // as the spec requires) and after the channel is gone.
  virtual bool is_open() const = 0;
  // The client's channel.flow: false asks us to stop sending content
  // (deliveries) on this channel until it becomes true again.
  virtual bool flow_active() const = 0;
  // REQUIRES: the channel still belongs to its connection (true in every
  // handler callback; after a weak_ptr hop check is_open() first).
  virtual ConnectionContext& connection() = 0;
  virtual std::weak_ptr<ChannelContext> weak() = 0;

  // Reports an error caused by the client: a soft error code (403, 404, 405,
  // 406, 311-313) closes this channel with channel.close and waits for
  // close-ok, dropping the channel's incoming frames meanwhile; a hard code
  // closes the connection. `cause` names the method being handled (its class
  // and method ids go into the close).
  virtual void fail(ReplyCode code, std::string_view text, msg::MethodId cause) = 0;

  // Sends one method frame. Dropped when !is_open().
  template <class M>
  void send(const M& m) {
    static_assert(!M::kHasContent, "use send_content for basic.deliver, basic.get-ok, basic.return");
    if (!is_open()) return;
    OutBuffer out;
    if (auto st = write_method_frame(out, id(), m, frame_max()); !st.ok()) return encode_failed(st.error(), M::kName);
    send_frames(std::move(out));
  }

  // Sends a content method, its header and its body split into body frames
  // of at most frame_max - 8 octets. Never blocks; callers producing many
  // messages check connection().output_congested() (see above).
  template <class M>
  void send_content(const M& m, const msg::BasicProperties& props, std::span<const uint8_t> body) {
    if (!is_open()) return;
    OutBuffer out;
    if (auto st = write_content(out, id(), m, props, body, frame_max()); !st.ok()) {
      return encode_failed(st.error(), M::kName);
    }
    send_frames(std::move(out));
  }
  // The same with a body read from a stored log segment (sent with sendfile).
  template <class M>
  void send_content(const M& m, const msg::BasicProperties& props, const FileSlice& body) {
    static_assert(M::kHasContent);
    if (!is_open()) return;
    OutBuffer out;
    if (auto st = write_method_frame(out, id(), m, frame_max()); !st.ok()) return encode_failed(st.error(), M::kName);
    if (auto st = write_content_header_frame(out, id(), body.len, props, frame_max()); !st.ok()) {
      return encode_failed(st.error(), M::kName);
    }
    write_body_frames(out, id(), body, frame_max());
    send_frames(std::move(out));
  }

 protected:
  virtual uint32_t frame_max() const = 0;
  // Appends whole frames of this channel to the connection's output.
  virtual void send_frames(OutBuffer&& frames) = 0;
  // We built a frame we cannot send (over frame_max, a short string over 255
  // bytes): a broker bug, answered with 541 INTERNAL_ERROR on the connection.
  virtual void encode_failed(const Error& e, std::string_view what) = 0;
};

class ChannelHandler {
 public:
  virtual ~ChannelHandler() = default;

  virtual void on_channel_open(ChannelContext& ch) {}
  // A complete command: a method, plus header and body for content methods
  // (basic.publish). Never a connection.* or channel.* method, nor
  // access.request: those are the connection layer's.
  virtual void on_command(ChannelContext& ch, Command&& cmd) = 0;
  // channel.flow from the client changed ch.flow_active().
  virtual void on_flow(ChannelContext& ch, bool active) {}
  virtual void on_channel_close(ChannelContext& ch) {}
  // Output drained after output_congested() was true: resume deliveries.
  virtual void on_writable(ConnectionContext& conn) {}
  virtual void on_connection_close(ConnectionContext& conn) {}
};

// Makes the handler of one connection; called on the connection's shard.
// Shared by all connections (and so all shards): must be thread-safe.
using ChannelHandlerFactory = std::function<std::unique_ptr<ChannelHandler>(ConnectionContext& conn)>;

}  // namespace wharf::amqp
