#include "amqp/handler/confirms.h"

namespace wharf::amqp {

uint64_t ConfirmTracker::add(int parts) {
  uint64_t seq = next_++;
  open_.emplace(seq, State{parts, false});
  if (parts == 0) {
    schedule();
  }
  return seq;
}

void ConfirmTracker::outcome(uint64_t seq, bool ok) {
  auto it = open_.find(seq);
  if (it == open_.end() || it->second.remaining == 0) return;
  if (!ok) it->second.nack = true;
  if (--it->second.remaining == 0) {
    schedule();
  }
}

void ConfirmTracker::refuse(uint64_t seq) {
  auto it = open_.find(seq);
  if (it == open_.end() || it->second.remaining == 0) return;
  it->second.nack = true;
  it->second.remaining = 0;
  schedule();
}

void ConfirmTracker::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->flush();
  });
}

void ConfirmTracker::flush() {
  scheduled_ = false;
  auto ch = ch_.lock();
  if (!ch || !ch->is_open()) {
    open_.clear();
    return;
  }
  // Head runs: everything before the head is already answered, so one
  // multiple=true ack covers a run of acks there.
  while (!open_.empty() && open_.begin()->second.remaining == 0) {
    auto it = open_.begin();
    if (it->second.nack) {
      ch->send(msg::BasicNack{it->first, false, false});
      open_.erase(it);
      continue;
    }
    uint64_t last = it->first;
    size_t run = 0;
    while (it != open_.end() && it->second.remaining == 0 && !it->second.nack) {
      last = it->first;
      it = open_.erase(it);
      ++run;
    }
    ch->send(msg::BasicAck{last, run > 1});
  }
  // Finished ones behind a still-waiting head wait for it: clients see
  // confirms in publish order, as RabbitMQ sends them.
}

}  // namespace wharf::amqp
