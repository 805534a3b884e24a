// confirm.select and tx.select / commit / rollback.
//
// A transaction holds the channel's publishes, acks and rejects until
// tx.commit, which applies them in order and answers commit-ok once every
// held publish is stored as durably as its queues promise (the same
// condition as a publisher confirm). tx.rollback drops them. Unacked
// deliveries stay unacked across a rollback, as in RabbitMQ.
#include "amqp/handler/session.h"

namespace wharf::amqp {

using Id = msg::MethodId;

void Session::confirm_select(Channel& c, ChannelContext& ch, const msg::ConfirmSelect& m) {
  if (c.tx)
    return ch.fail(ReplyCode::PRECONDITION_FAILED, "cannot switch from tx to confirm mode", Id::ConfirmSelect);
  if (!c.confirm) {
    c.confirm = true;
    c.confirms = std::make_shared<ConfirmTracker>(c.ctx, shards_.io(home_));
  }
  if (!m.nowait) ch.send(msg::ConfirmSelectOk{});
}

void Session::tx_select(Channel& c, ChannelContext& ch) {
  if (c.confirm)
    return ch.fail(ReplyCode::PRECONDITION_FAILED, "cannot switch from confirm to tx mode", Id::TxSelect);
  c.tx = true;
  ch.send(msg::TxSelectOk{});
}

void Session::tx_commit(Channel& c, ChannelContext& ch) {
  if (!c.tx) return ch.fail(ReplyCode::PRECONDITION_FAILED, "channel is not transactional", Id::TxCommit);
  std::vector<TxOp> ops = std::move(c.tx_ops);
  c.tx_ops.clear();
  // commit-ok waits for the publishes: a private tracker counts them.
  struct Pending {
    int left = 1;  // +1 held until every op was issued
    bool failed = false;
    std::function<void()> done;
  };
  auto pending = std::make_shared<Pending>();
  uint16_t cid = c.id;
  auto sess = c.session;
  pending->done = [this, weak = weak_from_this(), cid, sess] {
    auto self = weak.lock();
    if (!self || closed_) return;
    if (Channel* c = live(cid, sess)) c->ctx.lock()->send(msg::TxCommitOk{});
    resume(cid);
  };
  set_busy(c);
  for (auto& op : ops) {
    if (op.kind == TxOp::kPublish && op.delay_ms > 0) {
      ++pending->left;
      schedule_delayed(*op.message, op.delay_ms, [pending](bool ok) {
        if (!ok) pending->failed = true;
        if (--pending->left == 0) pending->done();
      });
    } else if (op.kind == TxOp::kPublish) {
      if (op.queues.empty() && op.topics.empty()) {
        if (op.mandatory) send_return(ch, *op.message);
        continue;
      }
      pending->left += int(op.queues.size() + op.topics.size());
      store(c, op.message, op.queues, op.topics, [pending](bool ok) {
        if (!ok) pending->failed = true;
        if (--pending->left == 0) pending->done();
      });
    } else if (!settle(c, ch, op.kind == TxOp::kAck, op.tag, op.multiple, op.requeue,
                       op.kind == TxOp::kAck ? Id::BasicAck : Id::BasicNack)) {
      return;  // the channel is closing; its busy state no longer matters
    }
  }
  if (--pending->left == 0) pending->done();
}

void Session::tx_rollback(Channel& c, ChannelContext& ch) {
  if (!c.tx) return ch.fail(ReplyCode::PRECONDITION_FAILED, "channel is not transactional", Id::TxRollback);
  c.tx_ops.clear();
  ch.send(msg::TxRollbackOk{});
}

}  // namespace wharf::amqp
