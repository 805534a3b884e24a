// TEMPORARY ChannelHandler, used until the broker-backed handler (routing
// registry + queue engine) is plugged in: every exchange.*, queue.*,
// basic.*, confirm.* and tx.* command is refused with 540 NOT_IMPLEMENTED
// ("<method> is not implemented yet").
//
// 540 is a hard error in 0-9-1, and RabbitMQ closes the whole connection for
// it (rabbit_binary_generator:map_exception closes the connection for every
// hard error, whatever channel it came from), so clients see exactly what
// RabbitMQ would send for a method it does not implement. Nothing is
// faked: no method gets a success reply it has not earned.
#pragma once

#include <memory>

#include "amqp/channel_handler.h"

namespace wharf::amqp {

class NotImplementedHandler final : public ChannelHandler {
 public:
  void on_command(ChannelContext& ch, Command&& cmd) override;
};

ChannelHandlerFactory not_implemented_handler_factory();

}  // namespace wharf::amqp
