// Connection life cycle: CONNECT negotiation, frame dispatch and backlog,
// ERROR and DISCONNECT, heart-beats and the ordered RECEIPT queue.
#include "stomp/session.h"

#include <algorithm>
#include <mutex>
#include <unordered_set>

#include "base/logging.h"
#include "base/version.h"
#include "broker/client_ids.h"
#include "stomp/numbers.h"
#include "stomp/protocol/frame_writer.h"

namespace wharf::stomp {

namespace queue = broker::queue;
namespace routing = broker::routing;
using Clock = net::Transport::Clock;

namespace {

// Heart-beats are sent no more often than this, whatever a client asks.
constexpr uint32_t kMinSendMs = 100;

Limits limits_of(const StompConfig& c) {
  Limits l;
  l.max_body = c.max_body_bytes;
  l.max_header_line = c.max_header_line_bytes;
  l.max_headers = c.max_headers;
  return l;
}

// "cx,cy" of a heart-beat header; nullopt when malformed.
std::optional<std::pair<uint32_t, uint32_t>> parse_heartbeat(std::string_view s) {
  size_t comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view t) {
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return parse_number<uint32_t>(t);
  };
  auto x = num(s.substr(0, comma)), y = num(s.substr(comma + 1));
  if (!x || !y) return std::nullopt;
  return std::make_pair(*x, *y);
}

// The highest version both sides speak: accept-version lists the client's
// (absent: 1.0 only).
std::optional<Version> negotiate(std::optional<std::string_view> accept) {
  if (!accept) return Version::k1_0;
  std::optional<Version> best;
  std::string_view s = *accept;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view v = s.substr(0, comma);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    std::optional<Version> got;
    if (v == "1.0") got = Version::k1_0;
    else if (v == "1.1") got = Version::k1_1;
    else if (v == "1.2") got = Version::k1_2;
    if (got && (!best || *got > *best)) best = got;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return best;
}

// The client-ids of open connections, broker-wide: JMS allows one
// connection per client id (its durable subscriptions are that client's).
class ClientIds {
 public:
  static ClientIds& get() {
    static ClientIds ids;
    return ids;
  }
  bool claim(const std::string& id) {
    std::lock_guard lock(mu_);
    return ids_.insert(id).second;
  }
  void release(const std::string& id) {
    std::lock_guard lock(mu_);
    ids_.erase(id);
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> ids_;  // GUARDED_BY(mu_)
};

}  // namespace

Session::Session(broker::Broker& broker, const StompConfig& config, std::unique_ptr<net::Transport> transport,
                 std::string peer, bool loopback)
    : broker_(broker),
      shards_(broker.shards()),
      host_(broker.queues()),
      registry_(broker.routing()),
      config_(config),
      transport_(std::move(transport)),
      peer_(std::move(peer)),
      loopback_(loopback),
      home_(broker::Shards::current()),
      conn_id_(broker::next_connection_id()),
      qsession_(broker::next_session_id()),
      id_prefix_("ID:wharf-" + std::to_string(conn_id_) + "-"),
      parser_(limits_of(config)),
      fanout_(broker, home_, [this](bool stop) {
        throttled_ = stop;
        update_reading();
      }) {}

Session::~Session() = default;

void Session::start() {
  auto now = transport_->now();
  last_sent_ = last_received_ = now;
  connect_deadline_ = now + std::chrono::milliseconds(std::max<uint32_t>(config_.connect_timeout_ms, 1));
  arm_timer();
}

result<size_t> Session::on_data(const net::Block&, std::span<uint8_t> data, size_t*) {
  if (closed_) return data.size();
  last_received_ = transport_->now();
  if (closing_) return data.size();  // after ERROR / DISCONNECT nothing more is read
  parser_.feed(std::span<const uint8_t>(data.data(), data.size()));
  while (!closing_) {
    if (busy_ || !backlog_.empty()) {
      // Parse ahead into the backlog, up to its bound.
      if (backlog_.size() >= config_.max_backlog_frames) break;
    }
    FrameParse p = parser_.next();
    if (p.status == FrameParse::kNeedMore) break;
    if (p.status == FrameParse::kError) {
      protocol_error(p.error.message);
      break;
    }
    if (busy_ || !backlog_.empty()) {
      backlog_.push_back(std::move(p.frame));
      continue;
    }
    handle(std::move(p.frame));
  }
  update_reading();
  return data.size();
}

void Session::update_reading() {
  if (closed_) return;
  bool pause = throttled_ || backlog_.size() >= config_.max_backlog_frames || (alarm_ && published_);
  if (pause == read_paused_) return;
  read_paused_ = pause;
  if (pause) transport_->pause_reading();
  else transport_->resume_reading();
}

void Session::run_backlog() {
  if (draining_) return;
  draining_ = true;
  while (!busy_ && !closing_ && !closed_) {
    if (backlog_.empty()) {
      // Frames parsed but not taken while the backlog was full.
      FrameParse p = parser_.next();
      if (p.status == FrameParse::kNeedMore) break;
      if (p.status == FrameParse::kError) {
        protocol_error(p.error.message);
        break;
      }
      handle(std::move(p.frame));
      continue;
    }
    Frame f = std::move(backlog_.front());
    backlog_.pop_front();
    handle(std::move(f));
  }
  draining_ = false;
  update_reading();
}

void Session::handle(Frame&& f) {
  const std::string& c = f.command;
  if (!connected_) {
    if (c == "CONNECT" || (c == "STOMP")) return connect(std::move(f));
    return protocol_error("expected CONNECT or STOMP, got " + c, {}, &f);
  }
  if (c == "SEND") return send(std::move(f));
  if (c == "SUBSCRIBE") return subscribe(std::move(f));
  if (c == "UNSUBSCRIBE") return unsubscribe(std::move(f));
  if (c == "ACK") return ack(std::move(f), true);
  if (c == "NACK") {
    if (version_ == Version::k1_0) return protocol_error("NACK is not part of STOMP 1.0", {}, &f);
    return ack(std::move(f), false);
  }
  if (c == "BEGIN") return begin(std::move(f));
  if (c == "COMMIT") return commit(std::move(f));
  if (c == "ABORT") return abort(std::move(f));
  if (c == "DISCONNECT") return disconnect(std::move(f));
  if (c == "CONNECT" || c == "STOMP") return protocol_error("already connected", {}, &f);
  protocol_error("command " + c + " is not a client frame", {}, &f);
}

void Session::connect(Frame&& f) {
  auto v = negotiate(f.header("accept-version"));
  if (!v) {
    Frame e;
    e.command = "ERROR";
    e.headers.emplace_back("version", "1.0,1.1,1.2");
    e.headers.emplace_back("content-type", "text/plain");
    e.headers.emplace_back("message", "Supported protocol versions are 1.0 1.1 1.2");
    send_frame(e);
    closing_ = true;
    transport_->close_after_flush();
    return;
  }
  version_ = *v;
  parser_.set_version(version_);

  // Virtual host: the host header names one when it exists, else the default.
  if (auto h = f.header("host"); h && registry_.has_vhost(*h)) vhost_ = std::string(*h);
  std::string login = std::string(f.header("login").value_or(""));
  std::string passcode = std::string(f.header("passcode").value_or(""));
  std::optional<routing::User> user;
  if (!login.empty()) {
    auto u = registry_.authenticate(login, passcode);
    if (!u.ok()) {
      WLOG_INFO("stomp", "{}: login refused for user '{}': {}", peer_, login, u.error().message);
      return protocol_error("Access refused for user '" + login + "'", {}, &f);
    }
    user = *u;
  } else if (!config_.default_login.empty()) {
    auto u = registry_.find_user(config_.default_login);
    if (u.ok()) user = *u;
  }
  if (!user) return protocol_error("Access refused: login required", {}, &f);
  if (user->loopback_only && !loopback_) {
    WLOG_INFO("stomp", "{}: user '{}' may only connect over a loopback interface", peer_, user->name);
    return protocol_error("Access refused for user '" + user->name + "'", {}, &f);
  }
  if (auto st = registry_.check_vhost_access(user->name, vhost_); !st.ok())
    return protocol_error("Access refused for user '" + user->name + "' to vhost '" + vhost_ + "'",
                          st.error().message, &f);
  user_ = user->name;
  if (auto cid = f.header("client-id"); cid && !cid->empty()) {
    if (!ClientIds::get().claim(std::string(*cid)))
      return protocol_error("client-id '" + std::string(*cid) + "' is already connected", {}, &f);
    client_id_ = std::string(*cid);
    client_id_claimed_ = true;
  }

  Frame ok;
  ok.command = "CONNECTED";
  ok.headers.emplace_back("version", std::string(version_name(version_)));
  ok.headers.emplace_back("server", std::string("Wharf/") + kWharfVersion);
  ok.headers.emplace_back("session", id_prefix_.substr(3, id_prefix_.size() - 4));
  if (version_ != Version::k1_0) {
    uint32_t cx = 0, cy = 0;
    if (auto hb = f.header("heart-beat")) {
      auto p = parse_heartbeat(*hb);
      if (!p) return protocol_error("invalid heart-beat header '" + std::string(*hb) + "'", {}, &f);
      cx = p->first;
      cy = p->second;
    }
    // We send every max(cy, kMinSendMs) when the client wants beats; we
    // expect one every max(cx, heartbeat_ms) when it offers them.
    send_every_ = cy ? std::max(cy, kMinSendMs) : 0;
    expect_every_ = cx ? std::max(cx, config_.heartbeat_ms) : 0;
    ok.headers.emplace_back("heart-beat", std::to_string(send_every_) + "," + std::to_string(expect_every_));
  }
  connected_ = true;
  send_frame(ok);
  arm_timer();
}

void Session::disconnect(Frame&& f) {
  std::string receipt(f.header("receipt").value_or(""));
  closing_ = true;
  // The client is done: its client-id is free for its next connection at
  // once (that one may be opened as soon as the RECEIPT arrives, before
  // this socket's close is noticed).
  release_client_id();
  // Nothing more is delivered to it after its RECEIPT (the barrier below
  // runs after these on every shard): its subscriptions end now, their
  // unacked messages go back to their queues.
  release_queues();
  if (receipt.empty()) {
    transport_->close_after_flush();
    return;
  }
  // The receipt says every earlier frame was processed: a barrier through
  // every shard (FIFO after our stores) before it is sent.
  unsigned n = shards_.count();
  uint64_t seq = open_pending(std::move(receipt), int(n), true);
  std::weak_ptr<Session> weak = weak_from_this();
  for (unsigned i = 0; i < n; ++i) {
    shards_.post(ShardId(i), [weak, shards = &shards_, home = home_, seq] {
      shards->post(home, [weak, seq] {
        if (auto self = weak.lock(); self && !self->closed_) self->part_done(seq, true);
      });
    });
  }
}

void Session::release_client_id() {
  if (client_id_claimed_) ClientIds::get().release(client_id_);
  client_id_claimed_ = false;
}

void Session::protocol_error(std::string message, std::string detail, const Frame* about) {
  if (closing_ || closed_) return;
  Frame e;
  e.command = "ERROR";
  if (about)
    if (auto r = about->header("receipt")) e.headers.emplace_back("receipt-id", std::string(*r));
  e.headers.emplace_back("content-type", "text/plain");
  // 1.0 cannot escape a line break in the message header.
  std::string m = message;
  std::replace(m.begin(), m.end(), '\n', ' ');
  e.headers.emplace_back("message", m);
  e.body = detail.empty() ? message : detail;
  WLOG_DEBUG("stomp", "{}: ERROR {}", peer_, message);
  send_frame(e);
  closing_ = true;
  transport_->close_after_flush();
}

void Session::send_frame(const Frame& f) {
  std::string out;
  if (auto st = encode_frame(f, version_, out); !st.ok()) {
    WLOG_ERROR("stomp", "{}: cannot encode {}: {}", peer_, f.command, st.error().message);
    return;
  }
  OutBuffer b;
  b.append(out.data(), out.size());
  send_raw(std::move(b));
}

void Session::send_raw(OutBuffer&& out) {
  if (closed_) return;
  last_sent_ = transport_->now();
  transport_->send(std::move(out));
}

// ---- heart-beats ----

void Session::arm_timer() {
  if (closed_ || closing_) return;
  std::optional<Clock::time_point> at;
  auto earliest = [&](Clock::time_point t) {
    if (!at || t < *at) at = t;
  };
  if (!connected_) earliest(connect_deadline_);
  if (send_every_) earliest(last_sent_ + std::chrono::milliseconds(send_every_));
  // A client is given twice its interval before it counts as dead.
  if (expect_every_) earliest(last_received_ + std::chrono::milliseconds(2 * uint64_t(expect_every_)));
  if (!at) return transport_->disarm_timer();
  std::weak_ptr<Session> weak = weak_from_this();
  transport_->arm_timer(*at, [weak] {
    if (auto self = weak.lock(); self && !self->closed_) self->on_timer();
  });
}

void Session::on_timer() {
  if (closing_) return;
  auto now = transport_->now();
  if (!connected_) {
    if (now >= connect_deadline_) {
      WLOG_INFO("stomp", "{}: no CONNECT within {} ms", peer_, config_.connect_timeout_ms);
      closing_ = true;
      transport_->close();
      return;
    }
  }
  if (expect_every_ && !transport_->reading_paused() &&
      now >= last_received_ + std::chrono::milliseconds(2 * uint64_t(expect_every_))) {
    WLOG_INFO("stomp", "{}: no heart-beat for {} ms, closing", peer_, 2 * uint64_t(expect_every_));
    closing_ = true;
    transport_->close();
    return;
  }
  if (transport_->reading_paused()) last_received_ = now;  // we are not reading: their beats wait in the socket
  if (send_every_ && now >= last_sent_ + std::chrono::milliseconds(send_every_)) {
    OutBuffer b;
    b.append_u8('\n');
    send_raw(std::move(b));
  }
  arm_timer();
}

// ---- receipts ----

uint64_t Session::open_pending(std::string receipt, int parts, bool disconnect) {
  Pending p;
  p.seq = next_seq_++;
  p.parts = parts;
  p.receipt = std::move(receipt);
  p.disconnect = disconnect;
  uint64_t seq = p.seq;
  pending_.push_back(std::move(p));
  if (parts == 0) flush_receipts();
  return seq;
}

void Session::part_done(uint64_t seq, bool ok) {
  for (auto& p : pending_) {
    if (p.seq != seq) continue;
    --p.parts;
    if (!ok) p.failed = true;
    break;
  }
  flush_receipts();
}

void Session::flush_receipts() {
  while (!pending_.empty() && pending_.front().parts <= 0 && !closed_) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    if (p.failed) {
      // A queue refused or failed to store the message: the client must not
      // take the receipt as success.
      closing_ = false;
      Frame about;
      about.headers.emplace_back("receipt", p.receipt);
      protocol_error("message not stored", "a destination refused or failed to store the message",
                     p.receipt.empty() ? nullptr : &about);
      return;
    }
    if (!p.receipt.empty()) {
      Frame r;
      r.command = "RECEIPT";
      r.headers.emplace_back("receipt-id", p.receipt);
      send_frame(r);
    }
    if (p.disconnect) transport_->close_after_flush();
  }
}

void Session::on_output_drained() {
  if (closed_ || !output_paused_) return;
  output_paused_ = false;
  pause_all(false);
}

void Session::release_queues() {
  // Requeue every unacked delivery and drop our consumers, queue by queue.
  std::vector<bool> had_consumer(queues_.size(), false);
  for (auto& [_, s] : subs_) {
    if (s.reader) {
      s.reader->stop();
      continue;
    }
    had_consumer[s.queue] = true;
    // Auto-ack deliveries already on their way here are settled in their
    // queue: they are still written (see unsubscribe()).
    if (s.ack == AckMode::kAuto) leaving_.emplace(s.serial, s);
  }
  for (size_t i = 0; i < queues_.size(); ++i) {
    shards_.run_at(queues_[i].shard,
                   [host = &host_, vhost = vhost_, name = queues_[i].name, sess = qsession_, c = bool(had_consumer[i])] {
                     auto live = host->get(vhost, name);
                     if (!live.ok()) return;
                     (*live)->close_session(sess);
                     if (c) host->consumer_gone(vhost, name);
                   });
  }
  subs_.clear();
  sub_ids_.clear();
  unacked_.clear();
  txs_.clear();
}

void Session::on_close() {
  if (closed_) return;
  closed_ = true;
  transport_->disarm_timer();
  release_client_id();
  release_queues();
  leaving_.clear();
  pending_.clear();
  // Our exclusive queues (temporary queues, non-durable topic subscriptions)
  // die with the connection.
  for (auto& q : registry_.connection_closed(conn_id_))
    shards_.run_at(host_.shard_of(q.vhost, q.name), [host = &host_, q] { host->drop(q.vhost, q.name); });
}

}  // namespace wharf::stomp
