// Queue definitions: what a queue is (name, flags, arguments, owner), kept by
// the registry so that it survives restart and the default exchange can route
// by name. The queue engine (src/broker/queue) holds the messages; it learns
// of definitions from the front end, never from this folder.
//
// RabbitMQ rules kept here:
// - an exclusive queue is never durable (declare durable+exclusive gives a
//   transient queue) and belongs to the connection that declared it (its
//   OwnerToken); it is deleted when that connection closes;
// - re-declaring compares durable, auto_delete, exclusivity and the
//   arguments RabbitMQ checks (kEquivalenceArgs), with integer widths
//   treated alike;
// - the arguments RabbitMQ validates at declare are validated here with its
//   limits (x-max-priority 0..255, x-expires > 0, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

// Identifies a client connection for exclusive queues. The front end picks
// one per connection, unique for the broker's lifetime (never persisted:
// exclusive queues are transient). kNoOwner means "no connection".
using OwnerToken = uint64_t;
inline constexpr OwnerToken kNoOwner = 0;

struct QueueDef {
  std::string name;
  bool durable = false;
  bool exclusive = false;
  bool auto_delete = false;  // deleted when its last consumer goes
  Table arguments;
  OwnerToken owner = kNoOwner;  // set exactly when exclusive
  // Metadata sequence number of the record that made this queue durable, 0
  // for transient queues. The definition is on disk once
  // Registry::durable_seq() >= seq (see Registry::flush).
  uint64_t seq = 0;

  // "x-queue-type": "classic" (also when absent), "quorum" or "stream".
  std::string_view queue_type() const;
};

// What queue.declare carries. An empty name asks for a server-named queue.
struct QueueDeclare {
  std::string name;
  bool passive = false;
  bool durable = false;
  bool exclusive = false;
  bool auto_delete = false;
  Table arguments;
};

// The arguments whose values must be equal on re-declare (RabbitMQ's
// declare_args list). Others are stored but not compared.
inline constexpr std::string_view kEquivalenceArgs[] = {
    "x-expires",          "x-message-ttl",         "x-dead-letter-exchange", "x-dead-letter-routing-key",
    "x-max-length",       "x-max-length-bytes",    "x-max-in-memory-length", "x-max-in-memory-bytes",
    "x-max-priority",     "x-overflow",            "x-queue-mode",           "x-single-active-consumer",
    "x-queue-type",       "x-max-age",             "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size", "x-quorum-initial-group-size", "x-queue-leader-locator",
};

// kPreconditionFailed naming the first bad argument ("invalid arg
// 'x-max-priority' for queue 'q' in vhost '/': ..."). `what` is the "queue
// 'q' in vhost '/'" part.
status validate_queue_arguments(const QueueDeclare& d, std::string_view what);

// kPreconditionFailed on the first inequivalent flag or argument, with
// RabbitMQ's wording ("inequivalent arg 'durable' for queue ...").
status check_queue_equivalence(const QueueDef& existing, const QueueDeclare& d, std::string_view what);

// "queue 'q' in vhost '/'", the phrase RabbitMQ puts in its errors.
std::string queue_phrase(std::string_view vhost, std::string_view name);
std::string exchange_phrase(std::string_view vhost, std::string_view name);

}  // namespace wharf::broker::routing
