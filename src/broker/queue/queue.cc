// Queue: publish, dispatch, settlement, expiry, overflow, persistence.
// The model and the rules are in queue.h and level.h.
//
// ready_bytes_ is exact for queues with max_length_bytes (recovery scans the
// ready messages to restore it); for others it restarts at 0 after a restart
// and saturates at 0, since nothing depends on it.
#include "broker/queue/queue.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include <fmt/format.h>

#include "base/logging.h"
#include "broker/selector/message_fields.h"

namespace wharf::broker::queue {

storage::LogConfig default_queue_log_config() {
  storage::LogConfig c;
  c.segment_bytes = 64ull << 20;
  // A slowly filled queue still rolls, so its consumed prefix can be deleted.
  c.segment_ms = 3600LL * 1000;
  c.retention_ms = -1;
  c.retention_bytes = -1;
  // Many small publishes in one event-loop turn become one write(2); tick()
  // writes what is left at the end of the turn.
  c.write_buffer_bytes = 128 << 10;
  return c;
}

namespace {

Error closed_error(const std::string& name) { return make_error(Errc::kNotFound, "queue '" + name + "' is closed"); }

std::string level_dir(const std::string& dir, unsigned level) { return fmt::format("{}/p{:03d}", dir, level); }

}  // namespace

Queue::Queue(std::string dir, QueueConfig cfg, QueueHooks hooks)
    : dir_(std::move(dir)), cfg_(std::move(cfg)), hooks_(std::move(hooks)) {
  env_ = hooks_.env ? hooks_.env : storage::Env::posix();
}

Queue::~Queue() = default;

result<std::shared_ptr<Queue>> Queue::open(std::string dir, QueueConfig config, QueueHooks hooks) {
  auto neg = [](const std::optional<int64_t>& v) { return v && *v < 0; };
  if (neg(config.message_ttl_ms) || neg(config.max_length) || neg(config.max_length_bytes)) {
    return make_error(Errc::kInvalidArgument, "queue '" + config.name + "': negative ttl or length limit");
  }
  if (config.read_window_bytes == 0) return make_error(Errc::kInvalidArgument, "read window of 0 bytes");
  std::shared_ptr<Queue> q(new Queue(std::move(dir), std::move(config), std::move(hooks)));
  if (auto st = q->recover(); !st.ok()) return st.error();
  return q;
}

int64_t Queue::now() const {
  if (hooks_.now_ms) return hooks_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint8_t Queue::level_of(const Message& m) const {
  return std::min<uint8_t>(m.props.priority.value_or(0), cfg_.max_priority);
}

// ---------------------------------------------------------------- recovery

status Queue::open_level(uint8_t index) {
  auto log = storage::Log::open(env_, level_dir(dir_, index), cfg_.log);
  if (!log.ok()) return log.error();
  if (levels_.size() <= index) levels_.resize(size_t(index) + 1);
  auto lv = std::make_unique<Level>(index, cfg_.read_window_bytes);
  lv->log = std::move(*log);
  lv->cursor = lv->start();
  levels_[index] = std::move(lv);
  return {};
}

result<Level*> Queue::level_for(uint8_t index, bool create) {
  if (index < levels_.size() && levels_[index]) return levels_[index].get();
  if (!create) return static_cast<Level*>(nullptr);
  if (auto st = open_level(index); !st.ok()) return st.error();
  return levels_[index].get();
}

status Queue::recover() {
  if (!cfg_.durable) {
    // A transient queue never outlives its broker: whatever an earlier life left goes.
    if (auto st = env_->remove_dir_recursive(dir_); !st.ok()) return st;
  }
  // The folder itself is created by the first level log or ack record: a
  // declared queue that never holds a message costs no inode (creating
  // 10,000 folders is most of the time of 10,000 declares on ext4).
  AckState state;
  if (cfg_.durable) {
    auto a = AckStore::open(env_, dir_, &state);  // no folder: no file, nothing to replay
    if (!a.ok()) return a.error();
    acks_ = std::move(*a);
  }
  if (!env_->exists(dir_)) return {};
  auto names = env_->list_dir(dir_);
  if (!names.ok()) return names.error();
  for (const auto& n : *names) {
    if (n.size() != 4 || n[0] != 'p') continue;
    unsigned v = 0;
    bool digits = true;
    for (size_t i = 1; i < 4; ++i) {
      if (n[i] < '0' || n[i] > '9') digits = false;
      v = v * 10 + unsigned(n[i] - '0');
    }
    if (!digits || v > 255) continue;
    if (auto st = open_level(uint8_t(v)); !st.ok()) return st;
  }
  // Level logs are created by the first publish to them (publish()):
  // an empty queue holds no open files.

  bool rewrite = false;
  for (auto& [index, ls] : state) {
    if (index >= levels_.size() || !levels_[index]) {
      rewrite = true;  // state of a level whose log is gone
      continue;
    }
    Level& lv = *levels_[index];
    int64_t start = lv.start(), end = lv.end();
    lv.settled = std::move(ls.settled);
    lv.cursor = ls.cursor;
    // The log may have lost an unsynced tail that the ack file kept: those
    // offsets will be reused by new messages, so forget them, here and on disk.
    if (lv.cursor > end || lv.settled.count_in(end, std::numeric_limits<int64_t>::max()) > 0) {
      WLOG_WARN("queue", "queue '{}' level {}: ack state past the log end {} (log lost unsynced data); trimming",
                cfg_.name, index, end);
      rewrite = true;
      lv.cursor = std::min(lv.cursor, end);
      lv.settled.erase_from(end);
    }
    lv.settled.erase_below(start);
    // A torn ack file may keep settle records but lose the cursor written
    // after them: anything settled was delivered, so the cursor is past it.
    int64_t settled_end = start;
    lv.settled.for_each([&](int64_t, int64_t to) { settled_end = to; });
    lv.cursor = std::max({lv.cursor, start, settled_end});
  }
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    Level& lv = *lvp;
    // Unsettled offsets below the cursor were delivered and not acked: they
    // come back first, flagged redelivered (one prior delivery).
    lv.settled.for_each_gap(lv.start(), lv.cursor, [&](int64_t a, int64_t b) {
      for (int64_t x = a; x < b; ++x) lv.requeued.emplace_hint(lv.requeued.end(), x, Behind{1, 0});
    });
  }
  if (rewrite && acks_) {
    AckState live;
    for (auto& lvp : levels_)
      if (lvp) live[lvp->index] = LevelAckState{lvp->cursor, lvp->settled};
    if (auto st = acks_->compact(live); !st.ok()) return st;
  }
  if (cfg_.max_length_bytes) {
    // Restore the ready byte count the limit needs: one sequential read of the backlog.
    for (auto& lvp : levels_) {
      if (!lvp) continue;
      Level& lv = *lvp;
      for (const auto& [off, _] : lv.requeued) {
        auto r = lv.cache.find(*lv.log, off);
        if (r.ok() && *r && (*r)->offset == off) ready_bytes_ += (*r)->value.size();
      }
      int64_t off = lv.cursor;
      while (off < lv.end()) {
        auto r = lv.cache.find(*lv.log, off);
        if (!r.ok()) return r.error();
        if (!*r) break;
        ready_bytes_ += (*r)->value.size();
        off = (*r)->offset + 1;
      }
      lv.cache.clear();
    }
  }
  expiring_possible_ = cfg_.message_ttl_ms.has_value() || message_count() > 0;
  WLOG_DEBUG("queue", "opened queue '{}' in {}: {} ready, {} to redeliver", cfg_.name, dir_, message_count(),
             [&] {
               size_t n = 0;
               for (auto& l : levels_) n += l ? l->requeued.size() : 0;
               return n;
             }());
  return {};
}

// ---------------------------------------------------------------- publish

bool Queue::full() const {
  return (cfg_.max_length && message_count() >= uint64_t(*cfg_.max_length)) ||
         (cfg_.max_length_bytes && ready_bytes_ >= uint64_t(*cfg_.max_length_bytes));
}

bool Queue::over() const {
  return (cfg_.max_length && message_count() > uint64_t(*cfg_.max_length)) ||
         (cfg_.max_length_bytes && ready_bytes_ > uint64_t(*cfg_.max_length_bytes));
}

result<PublishResult> Queue::publish(const Message& m, ConfirmFn on_confirm) {
  if (closed_) return closed_error(cfg_.name);
  if (cfg_.overflow != Overflow::kDropHead && full()) {
    if (cfg_.overflow == Overflow::kRejectPublishDlx) {
      Message copy = m;
      dead_letter(std::move(copy), DeathReason::kMaxLen);
    }
    return PublishResult::kRejected;
  }
  if (auto handed = hand_off(m)) {
    if (on_confirm) on_confirm(status{});
    return PublishResult::kAccepted;
  }
  auto lvr = level_for(level_of(m), true);
  if (!lvr.ok()) return lvr.error();
  Level& lv = **lvr;
  int64_t ts = now();
  encoder_.encode(m, ts, batch_);
  bool caught_up = lv.cursor == lv.end();
  auto ar = lv.log->append(batch_, ts);
  if (!ar.ok()) return ar.error();
  int64_t offset = ar->base_offset.value;
  lv.cache.on_append(offset, batch_, caught_up);
  ready_bytes_ += m.body.size();
  if (m.props.expiration_ms) expiring_possible_ = true;
  if (cfg_.message_ttl_ms) expiring_possible_ = true;

  bool wait_for_sync = cfg_.durable && m.props.persistent();
  // The waiter first: an owner may run the round before request_flush returns.
  if (wait_for_sync && on_confirm) lv.confirm_waiters.emplace_back(offset, std::move(on_confirm));
  if (cfg_.durable && hooks_.request_flush) hooks_.request_flush(shared_from_this(), batch_.size(), wait_for_sync);

  if (cfg_.overflow == Overflow::kDropHead) {
    while (over()) {
      auto t = take_next();
      if (!t.ok() || !*t) break;
      Taken& tk = **t;
      remove_from_ready(tk.head, tk.message.body.size());
      settle(*tk.head.level, tk.head.offset);
      dead_letter(std::move(tk.message), DeathReason::kMaxLen);
    }
  }
  schedule();
  if (!wait_for_sync && on_confirm) on_confirm(status{});
  return PublishResult::kAccepted;
}

bool Queue::hand_off(const Message& m) {
  // A message no promise makes durable (transient message, or transient
  // queue), arriving while nothing is ready (so nothing can be overtaken,
  // including messages stored earlier in this turn and not yet dispatched),
  // whose next consumer settles on delivery (no-ack): nothing of it would
  // outlive the delivery, so storing it and reading it back would only cost
  // time. RabbitMQ hands such a message over from memory too.
  // Not for grouped messages (the owner bookkeeping lives on the stored
  // path), nor for a consumer whose selector rejects the message (another
  // consumer may want it).
  if ((cfg_.durable && m.props.persistent()) || dispatching_ || message_count() != 0) return false;
  if (group_of(m)) return false;
  auto c = pick_consumer();
  if (!c || !c->opts.no_ack) return false;
  if (c->opts.selector && !selector::evaluate(*c->opts.selector, m)) return false;
  Delivery d;
  d.consumer = c->id;
  d.enqueued_at_ms = now();
  d.level = level_of(m);
  d.offset = -1;  // never stored
  d.message = m;
  if (c->opts.credit && *c->opts.credit > 0) --*c->opts.credit;
  rotate(*c);
  c->opts.deliver(std::move(d));
  return true;
}

// ---------------------------------------------------------------- reading ready messages

Queue::Head Queue::head_of(Level& lv) const {
  if (!lv.requeued.empty()) {
    auto it = lv.requeued.begin();
    return Head{&lv, it->first, true, it->second.deliveries};
  }
  return Head{&lv, lv.cursor, false, 0};
}

std::optional<int64_t> Queue::expiry_of(const Message& m, int64_t enqueued_at_ms) const {
  std::optional<int64_t> ttl = cfg_.message_ttl_ms;
  if (m.props.expiration_ms) ttl = ttl ? std::min(*ttl, *m.props.expiration_ms) : *m.props.expiration_ms;
  if (!ttl) return std::nullopt;
  if (*ttl > std::numeric_limits<int64_t>::max() - enqueued_at_ms) return std::nullopt;  // never, in practice
  return enqueued_at_ms + *ttl;
}

void Queue::remove_from_ready(const Head& h, uint64_t body_size) {
  Level& lv = *h.level;
  if (h.requeued) {
    auto it = lv.requeued.find(h.offset);
    if (it != lv.requeued.end()) {
      behind_bytes_ -= std::min<uint64_t>(behind_bytes_, it->second.bytes);
      lv.requeued.erase(it);
      if (lv.requeued.empty()) lv.behind.clear();
    }
  } else {
    lv.cursor = h.offset + 1;
    if (acks_) acks_->cursor(lv.index, lv.cursor);
  }
  ready_bytes_ = body_size > ready_bytes_ ? 0 : ready_bytes_ - body_size;
}

result<std::optional<Queue::Taken>> Queue::peek_level(Level& lv) {
  result<std::optional<Taken>> t = std::optional<Taken>();  // the one object returned (no extra move)
  while (lv.has_ready()) {
    if (auto st = examine(lv, head_of(lv), *t); !st.ok()) return st.error();
    if (*t) break;
  }
  return t;
}

// Every nullopt return has settled `h` (or, at the cursor, moved the cursor
// past it), so a caller looping over heads makes progress.
status Queue::examine(Level& lv, const Head& h, std::optional<Taken>& out) {
  ReadCache& cache = h.requeued ? lv.behind : lv.cache;
  auto rr = cache.find(*lv.log, h.offset);
  if (!rr.ok() && rr.code() != Errc::kOffsetOutOfRange) {
    if (rr.code() == Errc::kIo) return rr.error();
    // Unreadable bytes must not wedge the queue: skip the message, loudly.
    WLOG_ERROR("queue", "queue '{}': dropping unreadable message at level {} offset {}: {}", cfg_.name, lv.index,
               h.offset, rr.error().message);
    remove_from_ready(h, 0);
    settle(lv, h.offset);
    return {};
  }
  const RecordRef* rec = rr.ok() ? *rr : nullptr;
  if (!rec || rec->offset != h.offset) {
    // The offset does not exist (a gap recovery left, or the log end).
    if (h.requeued) {
      remove_from_ready(h, 0);
      settle(lv, h.offset);
    } else {
      // Below the log start cannot happen (segments are deleted only below
      // the cursor); if it did, resume at the start rather than skip to the end.
      int64_t to = rec ? rec->offset : rr.ok() ? lv.end() : lv.start();
      settle_range(lv, lv.cursor, to);
      lv.cursor = to;
      if (acks_) acks_->cursor(lv.index, lv.cursor);
    }
    return {};
  }
  auto msg = decode_record(*rec, cache.owner());
  if (!msg.ok()) {
    WLOG_ERROR("queue", "queue '{}': dropping undecodable message at level {} offset {}: {}", cfg_.name, lv.index,
               h.offset, msg.error().message);
    remove_from_ready(h, rec->value.size());
    settle(lv, h.offset);
    return {};
  }
  int64_t enqueued = rec->timestamp_ms;
  if (auto exp = expiry_of(*msg, enqueued); exp && now() > *exp) {
    remove_from_ready(h, msg->body.size());
    settle(lv, h.offset);
    ++expired_;
    dead_letter(std::move(*msg), DeathReason::kExpired);
    return {};
  }
  out.emplace(h, std::move(*msg), enqueued);  // in place: no extra Message move
  return {};
}

result<std::optional<Queue::Taken>> Queue::take_next() {
  for (size_t i = levels_.size(); i-- > 0;) {
    Level* lv = levels_[i].get();
    if (!lv || !lv->has_ready()) continue;
    auto t = peek_level(*lv);
    if (!t.ok()) return t.error();
    if (*t) return t;
  }
  return std::optional<Taken>();
}

// ---------------------------------------------------------------- selectors and groups

const std::string* Queue::group_of(const Message& m) const {
  if (cfg_.group_header.empty() || m.headers.empty()) return nullptr;
  const Value* v = m.headers.find(cfg_.group_header);
  return v ? v->get_if<std::string>() : nullptr;
}

bool Queue::may_take(const Consumer& c, const Message& m) const {
  if (c.opts.selector && !selector::evaluate(*c.opts.selector, m)) return false;
  if (!groups_.empty()) {
    if (const std::string* g = group_of(m)) {
      auto it = groups_.find(*g);
      if (it != groups_.end() && it->second.owner != c.id) return false;
    }
  }
  return true;
}

bool Queue::may_pass_over(bool resume) const {
  size_t behind = 0;
  for (const auto& lvp : levels_)
    if (lvp) behind += lvp->requeued.size();
  uint64_t n = cfg_.pass_over_limit, bytes = cfg_.pass_over_limit_bytes;
  if (resume) n -= n / 4, bytes -= bytes / 4;
  return behind < n && behind_bytes_ < bytes;
}

void Queue::pass_over(Level& lv, uint64_t body_size) {
  // The cursor is above every requeued offset: this one goes last.
  uint32_t bytes = uint32_t(std::min<uint64_t>(body_size, std::numeric_limits<uint32_t>::max()));
  lv.requeued.emplace_hint(lv.requeued.end(), lv.cursor, Behind{0, bytes});
  behind_bytes_ += bytes;
  ++lv.cursor;
  if (acks_) acks_->cursor(lv.index, lv.cursor);
}

result<std::optional<Queue::Taken>> Queue::take_for(Consumer& c) {
  if (c.refused_gen != refusal_gen_) {
    c.refused_gen = refusal_gen_;
    c.refused_below.clear();
  }
  c.refused_below.resize(levels_.size(), 0);
  // Records that every ready message of `lv` behind the cursor below `to`
  // was refused to `c`, unless a callback released a group meanwhile.
  uint64_t gen = refusal_gen_;
  auto refused_below = [&](const Level& lv, int64_t to) {
    if (refusal_gen_ == gen && lv.index < c.refused_below.size())
      c.refused_below[lv.index] = std::min(to, lv.cursor);
  };
  for (size_t i = levels_.size(); i-- > 0;) {
    Level* lv = levels_[i].get();
    if (!lv || !lv->has_ready()) continue;
    // Behind the cursor, in offset order, from where the last scan of `c`
    // ended. Looked up again by offset after each step: examine() may
    // settle entries and its dead letters may re-enter the queue.
    for (auto it = lv->requeued.lower_bound(c.refused_below[i]); it != lv->requeued.end();) {
      int64_t off = it->first;
      std::optional<Taken> t;
      if (auto st = examine(*lv, Head{lv, off, true, it->second.deliveries}, t); !st.ok()) return st.error();
      if (t && may_take(c, t->message)) {
        refused_below(*lv, off);  // so the next scan does not read the refused ones again
        return t;
      }
      it = lv->requeued.upper_bound(off);
    }
    refused_below(*lv, lv->cursor);
    // From the cursor on.
    while (lv->cursor < lv->end()) {
      std::optional<Taken> t;
      if (auto st = examine(*lv, Head{lv, lv->cursor, false, 0}, t); !st.ok()) return st.error();
      if (!t) continue;  // settled, the cursor moved past it
      if (may_take(c, t->message)) return t;
      if (!may_pass_over()) {
        pass_over_full_ = true;
        break;
      }
      pass_over(*lv, t->message.body.size());
      refused_below(*lv, lv->cursor);
    }
  }
  return std::optional<Taken>();
}

bool Queue::claim_group(const Consumer& c, const Message& m) {
  const std::string* g = group_of(m);
  if (!g) return false;
  auto [it, first] = groups_.try_emplace(*g, GroupOwner{c.id, {}});
  if (first) {
    group_lru_.push_front(&it->first);  // unordered_map keys do not move
    it->second.lru = group_lru_.begin();
  } else {
    group_lru_.splice(group_lru_.begin(), group_lru_, it->second.lru);
  }
  // JMSXGroupSeq = -1 ends the group: its next message starts a new one.
  const Value* seq = m.headers.find("JMSXGroupSeq");
  if (seq) {
    const int64_t* i = seq->get_if<int64_t>();
    const std::string* s = seq->get_if<std::string>();
    if ((i && *i == -1) || (s && *s == "-1")) {
      group_lru_.erase(it->second.lru);
      groups_.erase(it);
      ++refusal_gen_;  // its held messages may go to anyone now
      return first;
    }
  }
  if (groups_.size() > cfg_.max_groups) {
    // The least recently delivered group (never the one just claimed: it is at the front).
    auto victim = groups_.find(*group_lru_.back());  // by iterator: the key lives in the node
    group_lru_.pop_back();
    groups_.erase(victim);
    ++refusal_gen_;
  }
  return first;
}

Delivery Queue::hand_out(Taken&& t, SessionId session, Consumer* c, bool no_ack) {
  Level& lv = *t.head.level;
  uint32_t body_size = uint32_t(t.message.body.size());
  remove_from_ready(t.head, body_size);
  Delivery d;
  d.consumer = c ? c->id : ConsumerId(0);
  d.redelivered = t.head.prior_deliveries > 0;
  d.delivery_count = t.head.prior_deliveries + 1;
  d.enqueued_at_ms = t.enqueued_at_ms;
  d.level = lv.index;
  d.offset = t.head.offset;
  if (c && c->opts.credit && *c->opts.credit > 0) --*c->opts.credit;
  if (no_ack) {
    settle(lv, t.head.offset);
  } else {
    d.tag = DeliveryTag(next_tag_++);
    sessions_[session.value].emplace_hint(sessions_[session.value].end(), d.tag.value,
                                         Unacked{t.head.offset, d.consumer, body_size, d.delivery_count, lv.index});
    ++unacked_total_;
    if (c) ++c->unacked;  // its pool slot was taken in push_one()
  }
  d.message = std::move(t.message);
  return d;
}

// ---------------------------------------------------------------- settlement helpers

void Queue::settle_range(Level& lv, int64_t from, int64_t to) {
  if (to <= from) return;
  lv.settled.insert(from, to);
  if (acks_) acks_->settle(lv.index, from, to);
  gc_due_ = true;
}

void Queue::settle(Level& lv, int64_t offset) { settle_range(lv, offset, offset + 1); }

bool Queue::dead_lettering() const { return cfg_.dead_letter_exchange.has_value() && bool(hooks_.dead_letter); }

void Queue::dead_letter(Message&& m, DeathReason reason) {
  if (!dead_lettering()) return;
  record_death(m, cfg_.name, reason, now() / 1000);
  DeadLetter dl;
  dl.routing_key = cfg_.dead_letter_routing_key ? *cfg_.dead_letter_routing_key : m.routing_key;
  dl.message = std::move(m);
  dl.reason = reason;
  dl.queue = cfg_.name;
  dl.exchange = *cfg_.dead_letter_exchange;
  hooks_.dead_letter(std::move(dl));
}

void Queue::dead_letter_at(Level& lv, int64_t offset, DeathReason reason) {
  if (!dead_lettering()) return;
  auto r = lv.cache.find(*lv.log, offset);
  if (!r.ok() || !*r || (*r)->offset != offset) {
    WLOG_WARN("queue", "queue '{}': cannot read message at level {} offset {} to dead-letter it", cfg_.name,
              lv.index, offset);
    return;
  }
  auto m = decode_record(**r, lv.cache.owner());
  if (!m.ok()) {
    WLOG_WARN("queue", "queue '{}': cannot decode message at offset {} to dead-letter it: {}", cfg_.name, offset,
              m.error().message);
    return;
  }
  dead_letter(std::move(*m), reason);
}

void Queue::release_slot(ConsumerId id) {
  if (id.value == 0) return;
  auto it = consumers_.find(id.value);
  if (it == consumers_.end()) return;
  auto c = it->second;  // the pool wake-up below may re-enter
  if (c->unacked > 0) --c->unacked;
  if (c->cancelled && c->unacked == 0) consumers_.erase(it);
  if (c->opts.pool && !c->opts.no_ack) c->opts.pool->release_one();
}

void Queue::requeue(const Unacked& u) {
  Level& lv = *levels_[u.level];
  if (cfg_.delivery_limit && u.delivery_count > *cfg_.delivery_limit) {
    dead_letter_at(lv, u.offset, DeathReason::kDeliveryLimit);
    settle(lv, u.offset);
    return;
  }
  lv.requeued.emplace(u.offset, Behind{u.delivery_count, u.body_size});
  // Back below the consumers' scan marks: they must look at it again.
  for (const auto& c : order_)
    if (c->refused_gen == refusal_gen_ && u.level < c->refused_below.size())
      c->refused_below[u.level] = std::min(c->refused_below[u.level], u.offset);
  behind_bytes_ += u.body_size;
  ready_bytes_ += u.body_size;
  if (cfg_.message_ttl_ms) expiring_possible_ = true;
}

// Takes the selected deliveries out of the session first and only then acts
// on them, because acting (dead-lettering, waking pools) may re-enter.
size_t Queue::settle_deliveries(SessionId session, DeliveryTag tag, Select sel, const Action& act, status* err) {
  auto sit = sessions_.find(session.value);
  if (sit == sessions_.end()) {
    if (sel == Select::kOne) *err = make_error(Errc::kNotFound, fmt::format("unknown delivery tag {}", tag.value));
    return 0;
  }
  SessionDeliveries& m = sit->second;
  if (sel == Select::kOne) {  // the common case, without the vector
    auto it = m.find(tag.value);
    if (it == m.end()) {
      *err = make_error(Errc::kNotFound, fmt::format("unknown delivery tag {}", tag.value));
      return 0;
    }
    Unacked u = it->second;
    m.erase(it);
    if (m.empty()) sessions_.erase(sit);
    --unacked_total_;
    act(u);
    release_slot(u.consumer);
    return 1;
  }
  std::vector<Unacked> picked;
  auto end = (sel == Select::kAll || tag.value == 0) ? m.end() : m.upper_bound(tag.value);
  for (auto it = m.begin(); it != end; ++it) picked.push_back(it->second);
  m.erase(m.begin(), end);
  if (m.empty()) sessions_.erase(sit);
  unacked_total_ -= picked.size();
  for (const auto& u : picked) act(u);
  for (const auto& u : picked) release_slot(u.consumer);
  return picked.size();
}

// ---------------------------------------------------------------- consumers

result<ConsumerId> Queue::attach(ConsumerOptions opts) {
  if (closed_) return closed_error(cfg_.name);
  if (!opts.deliver) return make_error(Errc::kInvalidArgument, "consumer without a deliver function");
  if (exclusive_ || (opts.exclusive && !order_.empty())) {
    return make_error(Errc::kResourceLocked, "queue '" + cfg_.name + "' in exclusive use");
  }
  auto c = std::make_shared<Consumer>();
  c->id = ConsumerId(next_consumer_++);
  c->seq = next_seq_++;
  c->opts = std::move(opts);
  if (c->opts.exclusive) exclusive_ = true;
  if (c->opts.selector) ++selector_consumers_;
  // New consumers go last among those of their priority (round-robin order).
  auto pos = std::find_if(order_.begin(), order_.end(),
                          [&](const auto& o) { return o->opts.priority < c->opts.priority; });
  order_.insert(pos, c);
  consumers_[c->id.value] = c;
  if (cfg_.single_active_consumer && active_.value == 0) active_ = c->id;
  schedule();
  return c->id;
}

void Queue::choose_active() {
  active_ = ConsumerId(0);
  const Consumer* best = nullptr;
  for (const auto& c : order_) {
    if (!best || c->opts.priority > best->opts.priority ||
        (c->opts.priority == best->opts.priority && c->seq < best->seq)) {
      best = c.get();
    }
  }
  if (best) active_ = best->id;
}

bool Queue::is_active(ConsumerId id) const {
  auto it = consumers_.find(id.value);
  if (it == consumers_.end() || it->second->cancelled) return false;
  return !cfg_.single_active_consumer || active_ == id;
}

// `c` by value: releasing slots below may erase the map entry it came from.
void Queue::detach(std::shared_ptr<Consumer> c, bool requeue_unacked) {
  std::erase(order_, c);
  c->cancelled = true;
  if (c->opts.exclusive) exclusive_ = false;
  if (c->opts.selector) --selector_consumers_;
  // Its groups are free: each goes to whoever takes its next message.
  if (!groups_.empty() && std::erase_if(groups_, [&](const auto& g) {
        if (g.second.owner != c->id) return false;
        group_lru_.erase(g.second.lru);
        return true;
      }) > 0)
    ++refusal_gen_;
  if (cfg_.single_active_consumer && active_ == c->id) choose_active();
  if (requeue_unacked) {
    auto sit = sessions_.find(c->opts.session.value);
    if (sit != sessions_.end()) {
      std::vector<Unacked> picked;
      for (auto it = sit->second.begin(); it != sit->second.end();) {
        if (it->second.consumer == c->id) {
          picked.push_back(it->second);
          it = sit->second.erase(it);
        } else {
          ++it;
        }
      }
      if (sit->second.empty()) sessions_.erase(sit);
      unacked_total_ -= picked.size();
      for (const auto& u : picked) requeue(u);
      for (const auto& u : picked) release_slot(u.consumer);
    }
  }
  if (c->unacked == 0) consumers_.erase(c->id.value);
}

status Queue::cancel(ConsumerId id, bool requeue_unacked) {
  if (closed_) return closed_error(cfg_.name);
  auto it = consumers_.find(id.value);
  if (it == consumers_.end() || it->second->cancelled) {
    return make_error(Errc::kNotFound, fmt::format("no consumer {}", id.value));
  }
  detach(it->second, requeue_unacked);
  schedule();
  return {};
}

result<std::shared_ptr<Queue::Consumer>> Queue::live_consumer(ConsumerId id) {
  if (closed_) return closed_error(cfg_.name);
  auto it = consumers_.find(id.value);
  if (it == consumers_.end() || it->second->cancelled) {
    return make_error(Errc::kNotFound, fmt::format("no consumer {}", id.value));
  }
  return it->second;
}

status Queue::set_paused(ConsumerId id, bool paused) {
  auto c = live_consumer(id);
  if (!c.ok()) return c.error();
  (*c)->opts.paused = paused;
  if (!paused) schedule();
  return {};
}

status Queue::add_credit(ConsumerId id, uint64_t n) {
  auto c = live_consumer(id);
  if (!c.ok()) return c.error();
  auto& credit = (*c)->opts.credit;
  credit = credit.value_or(0) + n;
  schedule();
  return {};
}

status Queue::set_prefetch(ConsumerId id, uint32_t prefetch) {
  auto c = live_consumer(id);
  if (!c.ok()) return c.error();
  (*c)->opts.prefetch = prefetch;
  schedule();
  return {};
}

bool Queue::eligible(Consumer& c) {
  if (c.cancelled || c.opts.paused) return false;
  if (cfg_.single_active_consumer && c.id != active_) return false;
  if (c.opts.credit && *c.opts.credit == 0) return false;
  if (c.opts.no_ack) return true;  // prefetch limits unacked deliveries; a no-ack consumer has none
  if (c.opts.prefetch && c.unacked >= c.opts.prefetch) return false;
  if (c.opts.pool && !c.opts.pool->has_room()) {
    wait_for_pool(*c.opts.pool);
    return false;
  }
  return true;
}

std::shared_ptr<Queue::Consumer> Queue::pick_consumer() {
  for (const auto& c : order_)
    if (eligible(*c)) return c;
  return nullptr;
}

std::shared_ptr<Queue::Consumer> Queue::pick_consumer_in_pass() {
  for (const auto& c : order_)
    if (c->idle_pass != pass_ && eligible(*c)) return c;
  return nullptr;
}

void Queue::rotate(const Consumer& c) {
  auto it = std::find_if(order_.begin(), order_.end(), [&](const auto& o) { return o.get() == &c; });
  if (it == order_.end()) return;
  auto last = it;
  while (std::next(last) != order_.end() && (*std::next(last))->opts.priority == c.opts.priority) ++last;
  std::rotate(it, std::next(it), std::next(last));
}

void Queue::wait_for_pool(CreditPool& pool) {
  // The slot may free on another shard's thread: come back through defer.
  pool.wait(this, [w = weak_from_this(), defer = hooks_.defer] {
    auto again = [w] {
      if (auto q = w.lock()) q->schedule();
    };
    if (defer) defer(again);
    else again();
  });
}

bool Queue::push_one(const std::shared_ptr<Consumer>& c) {
  CreditPool* pool = !c->opts.no_ack ? c->opts.pool.get() : nullptr;
  if (pool && !pool->try_acquire()) {  // taken meanwhile by a queue on another shard
    wait_for_pool(*pool);
    return false;
  }
  auto t = filtering() ? take_for(*c) : take_next();
  if (!t.ok() || !*t) {
    if (pool) pool->release_one();
    if (!t.ok()) WLOG_ERROR("queue", "queue '{}': read failed: {}", cfg_.name, t.error().message);
    return false;
  }
  bool first_of_group = claim_group(*c, (*t)->message);
  Delivery d = hand_out(std::move(**t), c->opts.session, c.get(), c->opts.no_ack);
  if (first_of_group) d.message.headers.set("JMSXGroupFirstForConsumer", true);  // on this copy only
  rotate(*c);
  c->opts.deliver(std::move(d));  // `c` (a copy of the pointer) keeps the consumer alive meanwhile
  return true;
}

void Queue::dispatch() {
  if (closed_ || order_.empty()) return;
  if (dispatching_) {
    redispatch_ = true;
    return;
  }
  dispatching_ = true;
  do {
    redispatch_ = false;
    // Without filtering, a consumer that gets nothing means nothing is
    // ready. With it, that consumer is only out of this pass: the others
    // may still take something. A delivery gives an idle consumer nothing
    // new (it removes a message, or makes a group owned) unless it released
    // a group (JMSXGroupSeq = -1: refusal_gen_ moves) or freed room under
    // the pass-over limits; then a new pass starts. For the limits only once
    // a quarter of them is free, not after every delivery: each retry
    // costs a scan. Whatever else could help (publish, requeue, cancel,
    // ack) asks for another dispatch.
    ++pass_;
    uint64_t gen = refusal_gen_;
    while (!closed_) {
      bool filtered = filtering();
      auto c = filtered ? pick_consumer_in_pass() : pick_consumer();
      if (!c) break;
      if (!push_one(c)) {
        if (!filtered) break;
        c->idle_pass = pass_;
      } else if (gen != refusal_gen_ || (pass_over_full_ && may_pass_over(/*resume=*/true))) {
        gen = refusal_gen_;
        pass_over_full_ = false;
        ++pass_;
      }
    }
  } while (redispatch_ && !closed_);
  dispatching_ = false;
}

result<size_t> Queue::deliver(ConsumerId id, size_t max) {
  auto c = live_consumer(id);
  if (!c.ok()) return c.error();
  size_t n = 0;
  while (n < max && !closed_ && eligible(**c) && push_one(*c)) ++n;
  schedule();
  return n;
}

result<std::optional<Delivery>> Queue::get(SessionId session, bool no_ack) {
  if (closed_) return closed_error(cfg_.name);
  auto t = take_next();
  if (!t.ok()) return t.error();
  std::optional<Delivery> d;
  if (*t) d = hand_out(std::move(**t), session, nullptr, no_ack);
  schedule();
  return d;
}

// ---------------------------------------------------------------- settlement

result<size_t> Queue::ack(SessionId session, DeliveryTag tag, bool multiple) {
  if (closed_) return closed_error(cfg_.name);
  status err;
  size_t n = settle_deliveries(session, tag, multiple ? Select::kUpTo : Select::kOne,
                               [this](const Unacked& u) { settle(*levels_[u.level], u.offset); }, &err);
  if (!err.ok()) return err.error();
  schedule();
  return n;
}

result<size_t> Queue::reject(SessionId session, DeliveryTag tag, bool multiple, bool requeue_it) {
  if (closed_) return closed_error(cfg_.name);
  status err;
  size_t n = settle_deliveries(session, tag, multiple ? Select::kUpTo : Select::kOne,
                               [this, requeue_it](const Unacked& u) {
                                 if (requeue_it) {
                                   requeue(u);
                                 } else {
                                   dead_letter_at(*levels_[u.level], u.offset, DeathReason::kRejected);
                                   settle(*levels_[u.level], u.offset);
                                 }
                               },
                               &err);
  if (!err.ok()) return err.error();
  schedule();
  return n;
}

size_t Queue::recover(SessionId session) {
  if (closed_) return 0;
  status err;
  size_t n = settle_deliveries(session, DeliveryTag(0), Select::kAll, [this](const Unacked& u) { requeue(u); }, &err);
  schedule();
  return n;
}

size_t Queue::close_session(SessionId session) {
  if (closed_) return 0;
  std::vector<std::shared_ptr<Consumer>> mine;
  for (const auto& c : order_)
    if (c->opts.session == session) mine.push_back(c);
  for (const auto& c : mine) detach(c, false);
  return recover(session);
}

// ---------------------------------------------------------------- expiry

size_t Queue::expire() {
  if (closed_) return 0;
  wake_requested_ = -1;  // the owner's timer fired (or it polls): arm again
  size_t n = expire_heads();
  schedule();
  return n;
}

size_t Queue::expire_heads() {
  uint64_t before = expired_;
  for (auto& lvp : levels_) {
    if (!lvp || !lvp->has_ready()) continue;
    auto t = peek_level(*lvp);  // drops expired heads on the way
    if (!t.ok()) WLOG_ERROR("queue", "queue '{}': read failed: {}", cfg_.name, t.error().message);
  }
  return size_t(expired_ - before);
}

std::optional<int64_t> Queue::next_expiry() {
  if (closed_) return std::nullopt;
  std::optional<int64_t> best;
  for (auto& lvp : levels_) {
    if (!lvp || !lvp->has_ready()) continue;
    auto t = peek_level(*lvp);
    if (!t.ok() || !*t) continue;
    if (auto e = expiry_of((*t)->message, (*t)->enqueued_at_ms)) best = best ? std::min(*best, *e) : *e;
  }
  return best;
}

void Queue::arm_expiry() {
  if (!hooks_.wake_at) return;
  auto e = next_expiry();
  if (!e) return;
  int64_t at = *e + 1;  // a message expires once now > its expiry
  if (wake_requested_ < 0 || at < wake_requested_) {
    wake_requested_ = at;
    hooks_.wake_at(at);
  }
}

// ---------------------------------------------------------------- deferred work

void Queue::schedule() {
  if (closed_) return;
  if (hooks_.defer) {
    if (tick_scheduled_) return;
    tick_scheduled_ = true;
    hooks_.defer([w = weak_from_this()] {
      if (auto q = w.lock()) q->tick();
    });
    return;
  }
  if (in_tick_) {
    tick_again_ = true;
    return;
  }
  do {
    tick_again_ = false;
    tick();
  } while (tick_again_ && !closed_);
}

void Queue::tick() {
  tick_scheduled_ = false;
  if (closed_) return;
  in_tick_ = true;
  dispatch();
  if (expiring_possible_) {
    expire_heads();
    if (message_count() == 0 && !cfg_.message_ttl_ms) expiring_possible_ = false;
    else arm_expiry();
  }
  collect_garbage();
  persist();
  for (auto& lv : levels_)
    if (lv) {
      if (auto st = lv->log->flush_writes(); !st.ok())
        WLOG_ERROR("queue", "queue '{}': write failed: {}", cfg_.name, st.error().message);
    }
  in_tick_ = false;
}

void Queue::collect_garbage() {
  if (!gc_due_) return;
  gc_due_ = false;
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    Level& lv = *lvp;
    // Everything below the first unsettled offset is consumed.
    int64_t low = std::min(lv.settled.first_gap(lv.start()), lv.cursor);
    if (low <= lv.start()) continue;
    if (low == lv.end() && lv.log->size_bytes() >= cfg_.roll_consumed_bytes) {
      // All consumed: the active segment can go too once it is not active.
      if (auto st = lv.log->roll_active(now()); !st.ok()) {
        WLOG_WARN("queue", "queue '{}': rolling a consumed segment: {}", cfg_.name, st.error().message);
      }
    }
    auto r = lv.log->delete_segments_before(Offset(low));
    if (!r.ok()) {
      WLOG_WARN("queue", "queue '{}': deleting consumed segments: {}", cfg_.name, r.error().message);
      continue;
    }
    if (*r > 0) lv.settled.erase_below(lv.start());
  }
}

void Queue::persist() {
  if (!acks_ || !acks_->has_pending()) return;
  if (auto st = acks_->write_pending(); !st.ok()) {
    WLOG_ERROR("queue", "queue '{}': writing acks: {}", cfg_.name, st.error().message);
    return;
  }
  if (hooks_.request_flush) hooks_.request_flush(shared_from_this(), 0, false);
  size_t live = 0;
  for (auto& lvp : levels_)
    if (lvp) live += lvp->settled.range_count() + 1;
  if (acks_->should_compact(live)) {
    AckState state;
    for (auto& lvp : levels_)
      if (lvp) state[lvp->index] = LevelAckState{lvp->cursor, lvp->settled};
    if (auto st = acks_->compact(state); !st.ok()) {
      WLOG_ERROR("queue", "queue '{}': compacting acks: {}", cfg_.name, st.error().message);
    }
  }
}

// ---------------------------------------------------------------- group commit

storage::FlushJob Queue::begin_flush_round() {
  storage::FlushJob all;
  if (closed_) return all;
  if (acks_ && acks_->has_pending()) {
    if (auto st = acks_->write_pending(); !st.ok()) {
      WLOG_ERROR("queue", "queue '{}': writing acks: {}", cfg_.name, st.error().message);
    }
  }
  bool confirms = false;
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    lvp->round = lvp->log->begin_flush();
    lvp->in_round = true;
    all.files.insert(all.files.end(), lvp->round.files.begin(), lvp->round.files.end());
    confirms = confirms || !lvp->confirm_waiters.empty();
  }
  if (acks_ && acks_->unsynced()) {
    // Publishers wait on this round; acks can wait for a later one.
    int64_t t = now();
    bool due = last_ack_sync_ == std::numeric_limits<int64_t>::min() || t - last_ack_sync_ >= cfg_.ack_sync_interval_ms;
    if (!confirms || due) {
      all.files.push_back(acks_->sync_file());
      last_ack_sync_ = t;
    } else {
      ack_sync_deferred_ = true;
    }
  }
  return all;
}

void Queue::end_flush_round(const storage::FlushJob&, const status& st) {
  if (closed_) return;
  if (ack_sync_deferred_) {
    ack_sync_deferred_ = false;
    if (hooks_.request_flush) hooks_.request_flush(shared_from_this(), 0, false);  // within the flush interval
  }
  for (auto& lvp : levels_) {
    if (!lvp || !lvp->in_round) continue;
    if (st.ok()) lvp->log->end_flush(lvp->round);
    lvp->in_round = false;
    lvp->round = storage::FlushJob{};
  }
  if (!st.ok()) {
    WLOG_ERROR("queue", "queue '{}': flush failed: {}", cfg_.name, st.error().message);
    fail_confirms(st);
    return;
  }
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    Level& lv = *lvp;
    int64_t durable = lv.log->durable_offset().value;
    while (!lv.confirm_waiters.empty() && lv.confirm_waiters.front().first < durable) {
      auto cb = std::move(lv.confirm_waiters.front().second);
      lv.confirm_waiters.pop_front();
      cb(status{});  // may publish again: the deque is not being iterated
      if (closed_) return;
    }
  }
}

void Queue::fail_confirms(const status& st) {
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    auto ws = std::move(lvp->confirm_waiters);
    lvp->confirm_waiters.clear();
    for (auto& [_, cb] : ws) cb(st);
  }
}

// ---------------------------------------------------------------- administration

result<uint64_t> Queue::purge() {
  if (closed_) return closed_error(cfg_.name);
  uint64_t n = 0;
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    Level& lv = *lvp;
    n += lv.ready_count();
    for (const auto& [off, _] : lv.requeued) settle(lv, off);
    lv.requeued.clear();
    int64_t end = lv.end();
    settle_range(lv, lv.cursor, end);
    lv.cursor = end;
    if (acks_) acks_->cursor(lv.index, end);
    lv.cache.clear();
    lv.behind.clear();
  }
  ready_bytes_ = 0;
  behind_bytes_ = 0;
  schedule();
  return n;
}

result<uint64_t> Queue::remove(bool if_unused, bool if_empty) {
  if (closed_) return closed_error(cfg_.name);
  if (if_unused && !order_.empty()) {
    return make_error(Errc::kPreconditionFailed, "queue '" + cfg_.name + "' in use");
  }
  uint64_t n = message_count();
  if (if_empty && n > 0) return make_error(Errc::kPreconditionFailed, "queue '" + cfg_.name + "' not empty");
  auto consumers = std::move(order_);
  order_.clear();
  consumers_.clear();
  groups_.clear();
  group_lru_.clear();
  selector_consumers_ = 0;
  sessions_.clear();
  unacked_total_ = 0;
  fail_confirms(make_error(Errc::kNotFound, "queue '" + cfg_.name + "' deleted"));
  closed_ = true;
  levels_.clear();  // no flush: the files are about to go
  acks_.reset();
  auto st = env_->remove_dir_recursive(dir_);
  for (const auto& c : consumers)
    if (c->opts.on_cancel) c->opts.on_cancel();
  if (!st.ok()) return st.error();
  return n;
}

status Queue::close() {
  if (closed_) return {};
  status result;
  if (acks_) {
    if (auto st = acks_->write_pending(); !st.ok()) result = st;
  }
  for (auto& lvp : levels_) {
    if (!lvp) continue;
    if (auto st = lvp->log->close(); !st.ok() && result.ok()) result = st;  // fdatasyncs the log
  }
  if (acks_) {
    if (auto f = acks_->sync_file()) {
      if (auto st = f->sync(); !st.ok() && result.ok()) result = st;
    }
  }
  fail_confirms(result);  // ok: everything is synced now
  closed_ = true;
  order_.clear();
  consumers_.clear();
  groups_.clear();
  group_lru_.clear();
  selector_consumers_ = 0;
  sessions_.clear();
  return result;
}

// ---------------------------------------------------------------- queries

uint64_t Queue::message_count() const {
  uint64_t n = 0;
  for (const auto& lvp : levels_)
    if (lvp) n += lvp->ready_count();
  return n;
}

size_t Queue::tracked_entries() const {
  size_t n = unacked_total_;
  for (const auto& lvp : levels_) {
    if (!lvp) continue;
    n += lvp->requeued.size() + lvp->settled.range_count() + lvp->confirm_waiters.size();
  }
  return n;
}

size_t Queue::buffered_bytes() const {
  size_t n = 0;
  for (const auto& lvp : levels_)
    if (lvp) n += lvp->cache.buffered_bytes() + lvp->behind.buffered_bytes();
  return n;
}

uint64_t Queue::disk_bytes() const {
  uint64_t n = 0;
  for (const auto& lvp : levels_)
    if (lvp) n += lvp->log->size_bytes();
  return n;
}

}  // namespace wharf::broker::queue
