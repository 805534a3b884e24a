#include "amqp/handler/session.h"

#include <atomic>

#include "broker/stream_reader.h"
#include "base/logging.h"
#include "broker/client_ids.h"

namespace wharf::amqp {

namespace queue = broker::queue;
namespace routing = broker::routing;

namespace {

// The AMQP reply for a broker error (registry.h lists the mapping).
ReplyCode code_of(Errc e) {
  switch (e) {
    case Errc::kNotFound: return ReplyCode::NOT_FOUND;
    case Errc::kAccessRefused: return ReplyCode::ACCESS_REFUSED;
    case Errc::kResourceLocked: return ReplyCode::RESOURCE_LOCKED;
    case Errc::kPreconditionFailed:
    case Errc::kInvalidArgument: return ReplyCode::PRECONDITION_FAILED;
    case Errc::kUnsupported: return ReplyCode::COMMAND_INVALID;
    case Errc::kNotAllowed: return ReplyCode::NOT_ALLOWED;
    default: return ReplyCode::INTERNAL_ERROR;
  }
}

// Forwards the connection's events to its Session, which outlives it only
// as long as callbacks in flight hold it (they then see closed_).
class Handler : public ChannelHandler {
 public:
  explicit Handler(std::shared_ptr<Session> s) : s_(std::move(s)) {}
  void on_channel_open(ChannelContext& ch) override { s_->on_channel_open(ch); }
  void on_command(ChannelContext& ch, Command&& cmd) override { s_->on_command(ch, std::move(cmd)); }
  void on_flow(ChannelContext& ch, bool active) override { s_->on_flow(ch, active); }
  void on_channel_close(ChannelContext& ch) override { s_->on_channel_close(ch); }
  void on_writable(ConnectionContext&) override { s_->on_writable(); }
  void on_connection_close(ConnectionContext&) override { s_->on_connection_close(); }

 private:
  std::shared_ptr<Session> s_;
};

}  // namespace

ChannelHandlerFactory broker_handler_factory(broker::Broker& broker) {
  return [&broker](ConnectionContext& conn) -> std::unique_ptr<ChannelHandler> {
    return std::make_unique<Handler>(std::make_shared<Session>(broker, conn));
  };
}

Session::Session(broker::Broker& broker, ConnectionContext& conn)
    : broker_(broker),
      shards_(broker.shards()),
      host_(broker.queues()),
      registry_(broker.routing()),
      conn_(conn),
      home_(broker::Shards::current()),
      vhost_(conn.info().vhost),
      user_(conn.info().principal.user),
      fanout_(broker, home_, [this](bool stop) {
        if (!closed_) conn_.throttle(stop);
      }) {}

Session::~Session() = default;

routing::OwnerToken Session::owner() const { return conn_.info().id; }

Session::Channel* Session::channel_of(uint16_t id) {
  auto it = channels_.find(id);
  if (it == channels_.end() || it->second->closing) return nullptr;
  return it->second.get();
}

Session::Channel* Session::live(uint16_t id, queue::SessionId sess) {
  Channel* c = channel_of(id);
  if (!c || c->session != sess) return nullptr;
  auto ch = c->ctx.lock();
  if (!ch || !ch->is_open()) return nullptr;
  return c;
}

void Session::on_channel_open(ChannelContext& ch) {
  auto c = std::make_unique<Channel>();
  c->id = ch.id();
  c->ctx = ch.weak();
  c->session = queue::SessionId(broker::next_session_id());
  channels_[ch.id()] = std::move(c);
}

void Session::on_command(ChannelContext& ch, Command&& cmd) {
  Channel* c = channel_of(ch.id());
  if (!c) return;
  if (c->busy || !c->backlog.empty()) {
    c->backlog.push_back(std::move(cmd));
    return;
  }
  dispatch(*c, ch, std::move(cmd));
}

void Session::resume(uint16_t id) {
  Channel* c = channel_of(id);
  if (!c) return;
  c->busy = false;
  if (c->draining) return;  // the outer resume() loop continues
  c->draining = true;
  auto sess = c->session;
  while (!c->busy && !c->backlog.empty()) {
    auto ch = c->ctx.lock();
    if (!ch || !ch->is_open()) {
      c->backlog.clear();
      break;
    }
    Command cmd = std::move(c->backlog.front());
    c->backlog.pop_front();
    dispatch(*c, *ch, std::move(cmd));
    c = live(id, sess);
    if (!c) return;
  }
  c->draining = false;
}

void Session::dispatch(Channel& c, ChannelContext& ch, Command&& cmd) {
  using Id = msg::MethodId;
  auto& m = cmd.method;
  switch (msg::id_of(m)) {
    case Id::ExchangeDeclare: return exchange_declare(c, ch, std::get<msg::ExchangeDeclare>(m));
    case Id::ExchangeDelete: return exchange_delete(c, ch, std::get<msg::ExchangeDelete>(m));
    case Id::ExchangeBind: return exchange_bind(c, ch, std::get<msg::ExchangeBind>(m));
    case Id::ExchangeUnbind: return exchange_unbind(c, ch, std::get<msg::ExchangeUnbind>(m));
    case Id::QueueDeclare: return queue_declare(c, ch, std::get<msg::QueueDeclare>(m));
    case Id::QueueBind: return queue_bind(c, ch, std::get<msg::QueueBind>(m));
    case Id::QueueUnbind: return queue_unbind(c, ch, std::get<msg::QueueUnbind>(m));
    case Id::QueuePurge: return queue_purge(c, ch, std::get<msg::QueuePurge>(m));
    case Id::QueueDelete: return queue_delete(c, ch, std::get<msg::QueueDelete>(m));
    case Id::BasicQos: return basic_qos(c, ch, std::get<msg::BasicQos>(m));
    case Id::BasicConsume: return basic_consume(c, ch, std::get<msg::BasicConsume>(m));
    case Id::BasicCancel: return basic_cancel(c, ch, std::get<msg::BasicCancel>(m));
    case Id::BasicPublish: return publish(c, ch, std::move(cmd));
    case Id::BasicGet: return basic_get(c, ch, std::get<msg::BasicGet>(m));
    case Id::BasicAck: {
      const auto& a = std::get<msg::BasicAck>(m);
      return basic_ack(c, ch, a.delivery_tag, a.multiple, Id::BasicAck);
    }
    case Id::BasicReject: {
      const auto& r = std::get<msg::BasicReject>(m);
      return basic_reject(c, ch, r.delivery_tag, false, r.requeue, Id::BasicReject);
    }
    case Id::BasicNack: {
      const auto& n = std::get<msg::BasicNack>(m);
      return basic_reject(c, ch, n.delivery_tag, n.multiple, n.requeue, Id::BasicNack);
    }
    case Id::BasicRecoverAsync: return basic_recover(c, ch, false);
    case Id::BasicRecover: return basic_recover(c, ch, true);
    case Id::ConfirmSelect: return confirm_select(c, ch, std::get<msg::ConfirmSelect>(m));
    case Id::TxSelect: return tx_select(c, ch);
    case Id::TxCommit: return tx_commit(c, ch);
    case Id::TxRollback: return tx_rollback(c, ch);
    default:
      // Server-to-client methods (deliver, *-ok, return, ...) sent by a client.
      return ch.fail(ReplyCode::COMMAND_INVALID,
                     "unexpected method " + std::string(msg::name_of(m)) + " from the client", msg::id_of(m));
  }
}

uint32_t Session::queue_slot(Channel& c, const std::string& name) {
  auto it = c.queue_index.find(name);
  if (it != c.queue_index.end()) return it->second;
  uint32_t idx = uint32_t(c.queues.size());
  c.queues.push_back({name, host_.shard_of(vhost_, name)});
  c.queue_index.emplace(name, idx);
  return idx;
}

void Session::fail(ChannelContext& ch, const Error& e, msg::MethodId cause) {
  ReplyCode code = code_of(e.code);
  if (code == ReplyCode::INTERNAL_ERROR)
    WLOG_WARN("amqp", "connection {}: {} failed: {}", conn_.info().id, msg::method_name(cause), e.message);
  ch.fail(code, e.message, cause);
}

bool Session::permitted(ChannelContext& ch, routing::Perm perm, std::string_view kind, const std::string& name,
                        msg::MethodId cause) {
  bool ok = perms_.allowed(registry_, user_, vhost_, perm, kind, name);
  if (!ok) {
    std::string what = std::string(kind) + " '" + (name.empty() && kind == "exchange" ? "amq.default" : name) +
                       "' in vhost '" + vhost_ + "'";
    ch.fail(ReplyCode::ACCESS_REFUSED,
            std::string(routing::perm_name(perm)) + " access to " + what + " refused for user '" + user_ + "'",
            cause);
  }
  return ok;
}

bool Session::resolve_queue(Channel& c, ChannelContext& ch, std::string& name, msg::MethodId cause) {
  if (!name.empty()) return true;
  if (c.last_queue.empty()) {
    ch.fail(ReplyCode::NOT_FOUND, "no previously declared queue", cause);
    return false;
  }
  name = c.last_queue;
  return true;
}

void Session::on_flow(ChannelContext& ch, bool active) {
  Channel* c = channel_of(ch.id());
  if (!c) return;
  bool paused = !active || output_paused_;
  for (auto& [_, k] : c->consumers) set_consumer_paused(*c, k, paused);
}

void Session::on_channel_close(ChannelContext& ch) {
  auto it = channels_.find(ch.id());
  if (it == channels_.end() || it->second->closing) return;
  Channel& c = *it->second;
  c.closing = true;
  c.backlog.clear();
  release_channel(c);
  // Erased later: callers up the stack may still hold a reference to it.
  auto sess = c.session;
  uint16_t id = c.id;
  asio::post(shards_.io(home_), [weak = weak_from_this(), id, sess] {
    auto self = weak.lock();
    if (!self) return;
    auto it = self->channels_.find(id);
    if (it != self->channels_.end() && it->second->session == sess) self->channels_.erase(it);
  });
}

void Session::release_channel(Channel& c) {
  // Every queue this channel touched: requeue its unacked deliveries, drop
  // its consumers, and let auto-delete / x-expires see the consumers go.
  auto sess = c.session;
  std::vector<bool> had_consumer(c.queues.size(), false);
  for (auto& [_, k] : c.consumers) {
    if (k.stream) {  // reads a topic, not a queue slot: stop its reads
      if (k.reader) k.reader->stop();
      continue;
    }
    had_consumer[k.queue] = true;
  }
  for (size_t i = 0; i < c.queues.size(); ++i) {
    const QueueSlot& q = c.queues[i];
    bool consumers = had_consumer[i];
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, sess, consumers] {
      auto live = host->get(vhost, name);
      if (!live.ok()) return;
      (*live)->close_session(sess);
      if (consumers) host->consumer_gone(vhost, name);
    });
  }
  c.consumers.clear();
  c.unacked.clear();
  c.tx_ops.clear();
}

void Session::on_connection_close() {
  for (auto& [_, c] : channels_)
    if (!c->closing) {
      c->closing = true;
      release_channel(*c);
    }
  closed_ = true;
  // Exclusive queues die with their connection.
  for (auto& q : registry_.connection_closed(owner())) {
    shards_.run_at(host_.shard_of(q.vhost, q.name),
                   [host = &host_, q] { host->drop(q.vhost, q.name); });
  }
}

}  // namespace wharf::amqp
