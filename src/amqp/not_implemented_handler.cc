#include "amqp/not_implemented_handler.h"

#include <string>

namespace wharf::amqp {

void NotImplementedHandler::on_command(ChannelContext& ch, Command&& cmd) {
  ch.fail(ReplyCode::NOT_IMPLEMENTED, std::string(msg::name_of(cmd.method)) + " is not implemented yet",
          msg::id_of(cmd.method));
}

ChannelHandlerFactory not_implemented_handler_factory() {
  return [](ConnectionContext&) { return std::make_unique<NotImplementedHandler>(); };
}

}  // namespace wharf::amqp
