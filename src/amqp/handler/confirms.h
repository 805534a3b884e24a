// ConfirmTracker: publisher confirms of one channel (confirm.select).
//
// Each publish gets the next sequence number (from 1) and the number of
// stores it waits for (one per queue it was routed to; 0 for an unroutable
// message, which is confirmed at once as RabbitMQ does). When every store
// reported, the publish is acked, or nacked if any store failed or refused
// it (x-overflow reject-publish). Outcomes are collected and written once per
// event-loop turn, in publish order: a run of acks at the head of the
// outstanding ones goes out as one basic.ack with multiple=true, a nack on
// its own; a publish that finished behind one still waiting is answered
// when that one is. So tags are answered in order, each exactly once.
//
// Thread rules: the channel's home shard only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <asio.hpp>

#include "amqp/channel_handler.h"

namespace wharf::amqp {

class ConfirmTracker : public std::enable_shared_from_this<ConfirmTracker> {
 public:
  ConfirmTracker(std::weak_ptr<ChannelContext> ch, asio::io_context& io) : ch_(std::move(ch)), io_(io) {}

  // Registers the next publish, waiting for `parts` outcomes; returns its tag.
  uint64_t add(int parts);
  // One store of publish `seq` finished (ok=false: failed or refused).
  void outcome(uint64_t seq, bool ok);
  // Marks `seq` refused without waiting for its outcomes (e.g. the publish was
  // dropped before storing).
  void refuse(uint64_t seq);
  uint64_t outstanding() const { return open_.size(); }

 private:
  struct State {
    int remaining = 0;
    bool nack = false;
  };
  void schedule();
  void flush();

  std::weak_ptr<ChannelContext> ch_;
  asio::io_context& io_;
  uint64_t next_ = 1;
  std::map<uint64_t, State> open_;  // outstanding publishes; remaining==0 ones are done, not yet sent
  bool scheduled_ = false;
};

}  // namespace wharf::amqp
