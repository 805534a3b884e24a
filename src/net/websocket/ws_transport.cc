#include "net/websocket/ws_transport.h"

#include "net/websocket/session.h"

namespace wharf::net::websocket {

void WsTransport::send(OutBuffer&& out) {
  if (auto* s = link_->session) s->send_message(std::move(out));
}

void WsTransport::pause_reading() {
  if (auto* s = link_->session) s->pause_inner();
}

void WsTransport::resume_reading() {
  if (auto* s = link_->session) s->resume_inner();
}

bool WsTransport::reading_paused() const {
  auto* s = link_->session;
  return !s || s->inner_reading_paused();
}

void WsTransport::close() {
  if (auto* s = link_->session) s->close_from_inner();
}

void WsTransport::close_after_flush() {
  if (auto* s = link_->session) s->close_from_inner();
}

}  // namespace wharf::net::websocket
