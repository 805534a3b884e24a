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
};

}  // namespace wharf::net
