#include "net/tcp_transport.h"

namespace wharf::net {

TcpTransport::TcpTransport(const std::shared_ptr<Connection>& conn) : conn_(conn), timer_(conn->executor()) {}

TcpTransport::~TcpTransport() = default;

void TcpTransport::send(OutBuffer&& out) {
  if (auto c = conn_.lock()) c->send(std::move(out));
}

size_t TcpTransport::queued_output_bytes() const {
  auto c = conn_.lock();
  return c ? c->queued_bytes() : 0;
}

void TcpTransport::pause_reading() {
  if (auto c = conn_.lock()) c->pause_reading();
}

void TcpTransport::resume_reading() {
  if (auto c = conn_.lock()) c->resume_reading();
}

bool TcpTransport::reading_paused() const {
  auto c = conn_.lock();
  return c && c->reading_paused();
}

// Closing may drop the last reference to the Connection, which owns the
// session calling us: the reference is released on the next turn of the
// event loop instead, so the caller's stack never runs on a freed session.
void TcpTransport::close() {
  if (auto c = conn_.lock()) {
    c->close();
    asio::post(c->executor(), [c] {});
  }
}

void TcpTransport::close_after_flush() {
  if (auto c = conn_.lock()) {
    c->close_after_flush();
    asio::post(c->executor(), [c] {});
  }
}

void TcpTransport::arm_timer(Clock::time_point when, std::function<void()> fire) {
  fire_ = std::move(fire);
  const uint64_t gen = ++generation_;
  timer_.expires_at(when);  // cancels a pending wait: its handler sees operation_aborted
  timer_.async_wait([this, weak = conn_, gen](const asio::error_code& ec) {
    if (ec) return;
    // A wake-up already queued when the connection went away must not touch
    // `this`: the connection being alive and open proves we are.
    auto c = weak.lock();
    if (!c || c->closed() || gen != generation_) return;
    auto fire = std::move(fire_);
    fire_ = nullptr;
    fire();
  });
}

void TcpTransport::disarm_timer() {
  ++generation_;
  fire_ = nullptr;
  timer_.cancel();
}

}  // namespace wharf::net
