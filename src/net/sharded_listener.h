// ShardedListener: one Listener on the first of N event loops that spreads
// accepted sockets round robin over all N; each becomes a Connection on its
// loop's thread for the rest of its life, with the session `make` builds
// there. Every front end (Kafka, AMQP, ...) listens through one of these.
//
// Thread rules: start()/stop() from a thread that is none of the loops (they
// block on loop 0); the loops must be running. `make` runs on the target
// loop's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include <asio.hpp>

#include "base/result.h"
#include "net/listener.h"

namespace wharf::net {

class ShardedListener {
 public:
  using Loop = std::function<asio::io_context&(unsigned index)>;
  using MakeSession = std::function<std::unique_ptr<Session>(unsigned index, const std::shared_ptr<Connection>&)>;

  ShardedListener(unsigned loops, Loop loop, MakeSession make, ConnectionLimits limits = {});
  ~ShardedListener();

  // Binds and starts accepting; errors (address in use, ...) come back here.
  status start(const asio::ip::tcp::endpoint& ep);
  // Closes the acceptor. Sockets already accepted still reach their loop.
  void stop();
  // The bound port (the kernel's choice when asked for port 0); valid after start().
  uint16_t port() const { return port_; }

 private:
  unsigned loops_;
  Loop loop_;
  MakeSession make_;
  ConnectionLimits limits_;
  std::unique_ptr<Listener> listener_;  // touched on loop 0 only, or before start / after stop
  std::atomic<uint32_t> next_{0};
  uint16_t port_ = 0;
};

}  // namespace wharf::net
