// Transport: what a protocol connection (AMQP, STOMP) needs from the byte
// stream beneath it. In the broker it is a net::Connection plus a timer on the
// same shard (tcp_transport.h), or a WebSocket riding on one; unit tests use a recorder with a hand-moved clock, so
// every state machine path, heartbeats included, runs without sockets or
// sleeping.
//
// Thread rules: every method is called on the connection's shard thread, and
// the timer callback runs there too.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "base/out_buffer.h"

namespace wharf::net {

class Transport {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~Transport() = default;

  // Queues whole frames for sending; never blocks and never drops.
  virtual void send(OutBuffer&& out) = 0;
  // Output sent but not yet written to the socket (backpressure signal).
  virtual size_t queued_output_bytes() const = 0;

  // Stops delivering input to the session until resume_reading().
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
  // True while no input is read, for whatever reason (our pause or the
  // socket's output backpressure): the peer's heartbeats cannot be seen then.
  virtual bool reading_paused() const = 0;

  // Closes the socket now (queued output is dropped), or once everything
  // queued has been written. Either way the session's on_close() follows.
  virtual void close() = 0;
  virtual void close_after_flush() = 0;

  virtual Clock::time_point now() const = 0;
  // One timer per connection: arming replaces the previous deadline. `fire`
  // runs once at or after `when`, on the shard thread, unless re-armed,
  // disarmed or the connection closed first.
  virtual void arm_timer(Clock::time_point when, std::function<void()> fire) = 0;
  virtual void disarm_timer() = 0;
};

}  // namespace wharf::net
