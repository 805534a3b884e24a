#include "amqp/net_transport.h"

namespace wharf::amqp {

NetTransport::NetTransport(const std::shared_ptr<net::Connection>& conn) : conn_(conn), timer_(conn->executor()) {}

NetTransport::~NetTransport() = default;

void NetTransport::send(OutBuffer&& out) {
  if (auto c = conn_.lock()) c->send(std::move(out));
}

size_t NetTransport::queued_output_bytes() const {
  auto c = conn_.lock();
  return c ? c->queued_bytes() : 0;
}

void NetTransport::pause_reading() {
  if (auto c = conn_.lock()) c->pause_reading();
}

void NetTransport::resume_reading() {
  if (auto c = conn_.lock()) c->resume_reading();
}

bool NetTransport::reading_paused() const {
  auto c = conn_.lock();
  return c && c->reading_paused();
}

// Closing may drop the last reference to the net::Connection, which owns the
// session calling us: the reference is released on the next turn of the
// event loop instead, so the caller's stack never runs on a freed session.
void NetTransport::close() {
  if (auto c = conn_.lock()) {
    c->close();
    asio::post(c->executor(), [c] {});
  }
}

void NetTransport::close_after_flush() {
  if (auto c = conn_.lock()) {
    c->close_after_flush();
    asio::post(c->executor(), [c] {});
  }
}

void NetTransport::arm_timer(Clock::time_point when, std::function<void()> fire) {
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

void NetTransport::disarm_timer() {
  ++generation_;
  fire_ = nullptr;
  timer_.cancel();
}

}  // namespace wharf::amqp
