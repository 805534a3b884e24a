// AMQP field values <-> the broker's value types.
//
//   amqp::FieldTable <-> routing::Table   arguments of declares and bindings,
//                                         and headers a headers exchange
//                                         matches: same alternatives in the
//                                         same order, so types are kept
//   amqp::FieldTable <-> queue::Table     headers of a stored message: integer
//                                         widths widen to 64 bits (long) and
//                                         floats to double (queue/value.h);
//                                         decimals, bytes, lists, tables and
//                                         timestamps are kept
#pragma once

#include "amqp/protocol/field_table.h"
#include "broker/queue/value.h"
#include "broker/routing/value.h"

namespace wharf::amqp {

broker::routing::Value to_routing(const FieldValue& v);
broker::routing::Table to_routing(const FieldTable& t);

broker::queue::Value to_queue(const FieldValue& v);
broker::queue::Table to_queue(const FieldTable& t);
FieldValue from_queue(const broker::queue::Value& v);
FieldTable from_queue(const broker::queue::Table& t);

}  // namespace wharf::amqp
