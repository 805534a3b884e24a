// Broker-wide identities of client connections and of their queue sessions,
// shared by every front end so that an AMQP channel and a STOMP connection
// never collide in a queue (queue::SessionId) or in the registry's exclusive
// ownership (routing::OwnerToken).
//
// Thread rules: lock-free counters; call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace wharf::broker {

// A new id for a client connection: the registry's OwnerToken of its
// exclusive queues. Never 0 (routing::kNoOwner).
uint64_t next_connection_id();
// A new queue::SessionId value (an AMQP channel, a STOMP connection). Never 0.
uint64_t next_session_id();

}  // namespace wharf::broker
