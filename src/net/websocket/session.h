// WebSocketSession: a net::Session that speaks WebSocket (RFC 6455, server
// side) on a net::Connection and carries another protocol's byte stream
// inside it, so a STOMP (or any stream) session runs unchanged behind a
// browser's WebSocket.
//
//   net::Connection ── WebSocketSession ── inner net::Session (STOMP, ...)
//        bytes          handshake, frames        message payload bytes
//                       ◄── Transport (send = one WebSocket message) ──
//
// Life of a connection:
//  1. Handshake: the HTTP/1.1 upgrade request is parsed (handshake.h) and
//     checked against options.handshake (path, version 13, key, subprotocol).
//     A bad request gets its HTTP error (400/404/405/426/431) and the
//     connection closes after it is written. A client that sends no complete
//     request within handshake_timeout is disconnected.
//  2. Open: "101 Switching Protocols" is sent, then the factory builds the
//     inner session with a Transport of ours and the accepted request (its
//     chosen subprotocol, e.g. "v12.stomp"). From then on the payload bytes of
//     every data message (text or binary, fragmented or not) go to the inner
//     session's on_data() as one continuous byte stream: message boundaries
//     are not protocol units (STOMP frames may span messages or share one).
//     Bytes the inner session does not consume yet are kept, in a buffer of
//     ours, until more arrive; when it consumes in place from a frame that
//     arrived whole, nothing is copied. Pings are answered with pongs.
//  3. Closing: a close frame from the client is echoed and the TCP connection
//     closed once the echo is written. The inner session closing its
//     transport (close() or close_after_flush(), the same here) sends a
//     close frame (1000) after everything it sent before, drops further
//     input and output, and closes TCP when the client answers or after
//     close_timeout. A client that breaks the protocol gets a close frame
//     with the RFC's code (1002 protocol error, 1007 bad UTF-8, 1009 message
//     too big) and the TCP connection closes after it. An inner session
//     whose on_data fails gets 1008 with its message as the reason.
//     The inner session's on_close() runs once, when the TCP connection has
//     closed (whatever the reason), as over plain TCP.
//
// The inner session's Transport: send() turns each call into one unmasked
// WebSocket message (a text frame when the bytes are UTF-8 under kTextIfValid,
// the default, since browsers fail a connection on a text frame that is not;
// binary otherwise; file slices are sent as they are, by sendfile); pause /
// resume stop and restart the delivery of message bytes (and reading the
// socket); timers, now() and queued_output_bytes() are the TCP connection's.
//
// Ownership: the net::Connection owns this session, which owns the inner
// session (and so, usually, the inner session's transport). The transport
// may outlive us when the inner session is shared (net::SharedSession and
// weak_ptrs from asynchronous work): it reaches us through a link that our
// destructor clears, so late calls do nothing. We hold only a weak_ptr to the
// Connection.
// Thread rules: everything on the connection's shard thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <asio.hpp>

#include "net/connection.h"
#include "net/session.h"
#include "net/transport.h"
#include "net/websocket/frame_reader.h"
#include "net/websocket/handshake.h"

namespace wharf::net::websocket {

enum class OutputFrames : uint8_t {
  kTextIfValid,  // text frames, binary for a message that is not valid UTF-8 or holds file bytes
  kText,         // always text (the inner protocol promises UTF-8)
  kBinary,       // always binary
};

struct WebSocketOptions {
  HandshakePolicy handshake;  // path (default "/ws") and subprotocols (STOMP: v12.stomp, v11.stomp, v10.stomp)
  size_t max_handshake_bytes = 16 * 1024;  // request line plus headers; more is refused with 431
  // One message (all its fragments); more is refused with close 1009. Set it
  // above the inner protocol's own frame limit so that limit speaks first.
  uint64_t max_message_bytes = 64ull << 20;
  // Message bytes the inner session has left unconsumed (an unfinished
  // protocol unit); more closes with 1009. Bounds memory when the inner
  // session has no limit of its own.
  size_t max_pending_bytes = 64 << 20;
  OutputFrames output = OutputFrames::kTextIfValid;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds close_timeout{5000};  // waiting for the client's close frame after ours
};

// Builds the inner session once the handshake succeeded. `transport` is the
// inner session's to own; `request` says what the client asked for
// (request.protocol: the chosen subprotocol). Returning nullptr refuses the
// connection (close 1011 "unavailable").
using InnerFactory =
    std::function<std::unique_ptr<Session>(std::unique_ptr<Transport> transport, const UpgradeRequest& request)>;

// The session to give a net::Connection accepted on a WebSocket listener,
// e.g. in a ShardedListener's MakeSession:
//   [opts, stomp](unsigned, const std::shared_ptr<net::Connection>& c) {
//     return websocket::make_websocket_session(c, opts, [..](auto transport, const auto& req) {
//       return std::make_unique<net::SharedSession>(make_stomp_connection(std::move(transport), req.protocol, ...));
//     });
//   }
// Call on the connection's shard thread, before Connection::start().
std::unique_ptr<Session> make_websocket_session(const std::shared_ptr<Connection>& conn, WebSocketOptions options,
                                                InnerFactory factory);

struct Link;

class WebSocketSession final : public Session {
 public:
  WebSocketSession(const std::shared_ptr<Connection>& conn, WebSocketOptions options, InnerFactory factory);
  ~WebSocketSession() override;

  // net::Session (from the Connection)
  result<size_t> on_data(const Block& block, std::span<uint8_t> data, size_t* want) override;
  void on_close() override;
  void on_output_drained() override;

  // For the inner session's transport (ws_transport.h).
  void send_message(OutBuffer&& payload);
  void close_from_inner();
  void pause_inner();
  void resume_inner();
  bool inner_reading_paused() const;

 private:
  enum class State : uint8_t {
    kHandshake,  // waiting for the upgrade request
    kOpen,       // messages flow both ways
    kClosing,    // we sent a close frame; waiting for the client's
    kDone,       // TCP closes once our output is written (or has closed)
  };

  size_t on_handshake(std::span<uint8_t> data);
  size_t on_frames(const Block& block, std::span<uint8_t> data);
  // Hands message bytes to the inner session; false when the connection failed.
  bool feed_inner(const Block& block, std::span<uint8_t> bytes);
  bool pump_pending();
  void keep_pending(std::span<const uint8_t> bytes);
  bool inner_failed(const Error& e);

  void send_control(Opcode op, std::span<const uint8_t> payload);
  void send_close_and_wait(uint16_t code, std::string_view reason);  // -> kClosing
  void fail(uint16_t code, std::string_view reason);                 // close frame, then TCP -> kDone
  void finish();                                                      // TCP after output -> kDone
  void arm_timer(std::chrono::milliseconds after);
  void on_timer();

  std::weak_ptr<Connection> conn_;
  std::string peer_;
  WebSocketOptions options_;
  InnerFactory factory_;
  std::shared_ptr<Link> link_;
  State state_ = State::kHandshake;
  HandshakeParser handshake_;
  FrameReader reader_;
  std::unique_ptr<Session> inner_;
  bool inner_paused_ = false;
  bool delivering_ = false;  // inside inner_->on_data: a resume from there must not re-enter it

  // Message bytes the inner session has not consumed: pending_[begin_, end_).
  Block pending_;
  size_t begin_ = 0, end_ = 0;
  size_t inner_want_ = 0;

  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
};

}  // namespace wharf::net::websocket
