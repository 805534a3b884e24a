// Message headers (queue::Table, what a queued message keeps) as the routing
// layer's typed table (routing::Table, what a headers exchange matches on).
// Needed when the broker itself republishes a stored message (dead letters):
// a headers exchange must see the same headers the publisher sent.
//
// queue::Value has already widened integers to 64 bits and floats to double;
// routing's headers matching compares values of the same type class, so the
// widened types match bindings declared with any integer width as RabbitMQ's
// own re-routing of a stored message would.
#pragma once

#include "broker/queue/value.h"
#include "broker/routing/value.h"

namespace wharf::broker {

routing::Value routing_value_of(const queue::Value& v);
routing::Table routing_table_of(const queue::Table& t);

}  // namespace wharf::broker
