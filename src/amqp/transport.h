// The AMQP connection talks to its socket through net::Transport (shared with
// the STOMP front end); these names keep the AMQP code and tests short.
#pragma once

#include "net/tcp_transport.h"
#include "net/transport.h"

namespace wharf::amqp {

using Transport = net::Transport;
using NetTransport = net::TcpTransport;

}  // namespace wharf::amqp
