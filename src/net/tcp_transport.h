// TcpTransport: the Transport of an accepted TCP connection: a
// net::Connection and an asio timer on the connection's shard.
//
// Ownership: the net::Connection owns the protocol connection (its Session),
// which owns this transport, so the transport holds only a weak_ptr back; a
// timer callback first checks that the net::Connection is still alive and
// open, which guarantees the session (and this object) still exist.
// Thread rules: the connection's shard thread only.
#pragma once

#include <memory>

#include <asio.hpp>

#include "net/transport.h"
#include "net/connection.h"

namespace wharf::net {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(const std::shared_ptr<Connection>& conn);
  ~TcpTransport() override;

  void send(OutBuffer&& out) override;
  size_t queued_output_bytes() const override;
  void pause_reading() override;
  void resume_reading() override;
  bool reading_paused() const override;
  void close() override;
  void close_after_flush() override;
  Clock::time_point now() const override { return Clock::now(); }
  void arm_timer(Clock::time_point when, std::function<void()> fire) override;
  void disarm_timer() override;

 private:
  std::weak_ptr<Connection> conn_;
  asio::steady_timer timer_;
  std::function<void()> fire_;
  uint64_t generation_ = 0;  // bumped on every arm/disarm; a stale wake-up sees a different value
};

}  // namespace wharf::net
