// Session: the protocol logic behind one connection (Kafka, AMQP, STOMP).
//
// Thread rules: every method is called on the connection's shard thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"

namespace wharf::net {

class Connection;

// Received bytes live in reference-counted blocks. A session may keep a block
// alive (by copying the shared_ptr) to use a frame in place without copying;
// the connection then reads into a fresh block.
using Block = std::shared_ptr<std::vector<uint8_t>>;

class Session {
 public:
  virtual ~Session() = default;

  // Bytes arrived: `data` is all unconsumed input, a view into `block`.
  // Returns how many bytes were consumed (whole protocol units only), or an
  // error, which closes this connection and nothing else. A session that wants
  // a large frame to arrive in one block sets *want to the bytes it needs.
  virtual result<size_t> on_data(const Block& block, std::span<uint8_t> data, size_t* want) = 0;

  // The connection closed (peer, error or shutdown). Called exactly once.
  virtual void on_close() = 0;

  // All queued output has been written after the socket had pushed back
  // (a write would have blocked). Sessions that stopped producing output
  // because too much was queued (Connection::queued_bytes()) resume here.
  // May send; called at most once per episode of push-back.
  virtual void on_output_drained() {}
};

// A Session owned by shared_ptr, for protocols whose session must be
// reachable through weak_ptrs from asynchronous work (an AMQP delivery coming
// back from another shard). The Connection owns this forwarder; the session
// lives as long as the forwarder or any shared_ptr taken from a weak_ptr.
class SharedSession final : public Session {
 public:
  explicit SharedSession(std::shared_ptr<Session> s) : s_(std::move(s)) {}
  result<size_t> on_data(const Block& block, std::span<uint8_t> data, size_t* want) override {
    return s_->on_data(block, data, want);
  }
  void on_close() override { s_->on_close(); }
  void on_output_drained() override { s_->on_output_drained(); }

 private:
  std::shared_ptr<Session> s_;
};

}  // namespace wharf::net
