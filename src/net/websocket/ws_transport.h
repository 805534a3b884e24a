// WsTransport: the net::Transport a WebSocketSession gives its inner session
// (session.h says what each call does). It reaches the session through a
// Link that the session clears when it is destroyed, because the inner
// session, and so this transport, may outlive it; calls after that do
// nothing. Timers, now(), and queued_output_bytes() are a TcpTransport's on
// the same connection (whose timer callbacks check the connection is open).
//
// Thread rules: the connection's shard thread only.
#pragma once

#include <memory>

#include "net/tcp_transport.h"
#include "net/transport.h"

namespace wharf::net::websocket {

class WebSocketSession;

// Shared by a session and the transport it handed out; `session` is null
// once the session is gone.
struct Link {
  WebSocketSession* session = nullptr;
};

class WsTransport final : public Transport {
 public:
  WsTransport(const std::shared_ptr<Connection>& conn, std::shared_ptr<Link> link)
      : link_(std::move(link)), tcp_(conn) {}

  void send(OutBuffer&& out) override;
  size_t queued_output_bytes() const override { return tcp_.queued_output_bytes(); }
  void pause_reading() override;
  void resume_reading() override;
  bool reading_paused() const override;
  void close() override;
  void close_after_flush() override;
  Clock::time_point now() const override { return tcp_.now(); }
  void arm_timer(Clock::time_point when, std::function<void()> fire) override { tcp_.arm_timer(when, std::move(fire)); }
  void disarm_timer() override { tcp_.disarm_timer(); }

 private:
  std::shared_ptr<Link> link_;
  TcpTransport tcp_;
};

}  // namespace wharf::net::websocket
