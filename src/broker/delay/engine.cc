#include "broker/delay/engine.h"

#include <algorithm>
#include <chrono>

#include "base/endian.h"
#include "base/logging.h"
#include "broker/delay/slot_format.h"

namespace wharf::broker::delay {

namespace sf = slot_format;

bool Engine::Later::operator()(const Ref& a, const Ref& b) const {
  if (a.due != b.due) return a.due > b.due;
  if (a.slot_delta != b.slot_delta) return a.slot_delta > b.slot_delta;
  return a.pos > b.pos;
}

Engine::Engine(std::string dir, EngineConfig cfg, EngineHooks hooks)
    : dir_(std::move(dir)),
      cfg_(cfg),
      hooks_(std::move(hooks)),
      env_(hooks_.env ? hooks_.env : storage::Env::posix()),
      frontier_(INT64_MIN) {}

Engine::~Engine() = default;

result<std::shared_ptr<Engine>> Engine::open(std::string dir, EngineConfig cfg, EngineHooks hooks) {
  if (!hooks.fire) return make_error(Errc::kInvalidArgument, "delay engine without a fire callback");
  if (cfg.slot_ms <= 0 || cfg.preload_ms < 0 || cfg.max_in_flight == 0)
    return make_error(Errc::kInvalidArgument, "bad delay engine configuration");
  std::shared_ptr<Engine> e(new Engine(std::move(dir), cfg, std::move(hooks)));
  if (auto st = e->recover(); !st.ok()) return st.error();
  e->tick();
  return e;
}

status Engine::recover() {
  if (auto st = env_->create_dir(dir_); !st.ok()) return st;
  auto names = env_->list_dir(dir_);
  if (!names.ok()) return names.error();
  for (const auto& n : *names) {
    int64_t index;
    if (!sf::parse_name(n, &index)) continue;
    Slot s;
    s.index = index;  // unchecked and unloaded: nothing is read until needed
    slots_.emplace(index, std::move(s));
  }
  if (!slots_.empty())
    WLOG_INFO("delay", "{} delayed-message slot files in {}", slots_.size(), dir_);
  return {};
}

int64_t Engine::now() const {
  if (hooks_.now_ms) return hooks_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Engine::slot_of(int64_t due) const {
  return due >= 0 ? due / cfg_.slot_ms : (due - cfg_.slot_ms + 1) / cfg_.slot_ms;
}

Engine::Ref Engine::make_ref(int64_t due, int64_t slot, uint64_t pos, size_t len) const {
  return Ref{due, pos, uint32_t(len), int32_t(slot - slot_of(due))};
}

std::string Engine::path_of(int64_t index) const { return dir_ + "/" + sf::file_name(index); }

size_t Engine::buffered_bytes() const {
  const size_t inline_capacity = std::string().capacity();  // the small-string buffer inside the object
  size_t n = 0;
  for (const auto& [i, s] : slots_) n += s.out.capacity() - inline_capacity;
  return n;
}

size_t Engine::loaded_slots() const {
  size_t n = 0;
  for (const auto& [i, s] : slots_) n += s.loaded;
  return n;
}

std::optional<int64_t> Engine::next_due() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

Engine::Slot& Engine::slot(int64_t index) {
  auto it = slots_.find(index);
  if (it != slots_.end()) return it->second;
  Slot s;
  s.index = index;
  s.checked = true;  // a new file: nothing to check
  s.loaded = index < frontier_;
  return slots_.emplace(index, std::move(s)).first->second;
}

status Engine::open_file(Slot& s) {
  if (s.file) return {};
  auto f = env_->open_append(path_of(s.index));
  if (!f.ok()) return f.error();
  s.file = std::move(*f);
  return {};
}

status Engine::scan(Slot& s, const std::function<void(uint64_t, std::span<const uint8_t>)>& on_record) {
  if (auto st = open_file(s); !st.ok()) return st;
  auto size = s.file->size();
  if (!size.ok()) return size.error();
  // A sliding read buffer: records are read in order, a chunk at a time.
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf;
  uint64_t buf_start = 0;
  auto ensure = [&](uint64_t pos, size_t n) -> status {
    if (pos >= buf_start && pos + n <= buf_start + buf.size()) return {};
    buf.resize(std::max(n, kChunk));
    auto got = s.file->pread(pos, buf);
    if (!got.ok()) return got.error();
    buf.resize(*got);
    buf_start = pos;
    return {};
  };
  uint64_t pos = 0;
  while (pos < *size) {
    if (*size - pos < sf::kHeaderSize) break;
    if (auto st = ensure(pos, sf::kHeaderSize); !st.ok()) return st;
    uint32_t len = sf::body_length(&buf[pos - buf_start]);
    if (len == 0 || *size - pos - sf::kHeaderSize < len) break;
    if (auto st = ensure(pos, sf::kHeaderSize + len); !st.ok()) return st;
    const uint8_t* rec = &buf[pos - buf_start];
    if (!sf::crc_ok(rec, {rec + sf::kHeaderSize, len})) break;
    if (on_record) on_record(pos, {rec, sf::kHeaderSize + len});
    pos += sf::kHeaderSize + len;
  }
  if (pos < *size) {
    WLOG_WARN("delay", "{}: torn or corrupt record at byte {} of {}; truncating", path_of(s.index), pos, *size);
    if (auto st = s.file->truncate(pos); !st.ok()) return st;
  }
  s.written = pos;
  s.checked = true;
  return {};
}

result<uint64_t> Engine::append(Slot& s, const std::string& record) {
  if (!s.checked) {
    if (auto st = scan(s, nullptr); !st.ok()) return st.error();
  }
  uint64_t pos = s.written + s.out.size();
  if (s.out.empty()) to_write_.push_back(s.index);
  s.out += record;
  ++write_seq_;
  return pos;
}

status Engine::load(Slot& s) {
  if (!s.out.empty() && s.checked) {  // appended to while unloaded: write first, then read everything
    if (auto st = open_file(s); !st.ok()) return st;
    if (auto st = s.file->append({reinterpret_cast<const uint8_t*>(s.out.data()), s.out.size()}); !st.ok())
      return st;
    s.written += s.out.size();
    std::string().swap(s.out);
    mark_unsynced(s);
  }
  // The entries go straight to the end of heap_ (no second copy of a
  // large slot), those named by kFired records are dropped, then the rest
  // join the heap.
  const size_t start = heap_.size();
  std::vector<uint64_t> fired;
  auto st = scan(s, [&](uint64_t pos, std::span<const uint8_t> rec) {
    uint8_t kind = rec[sf::kHeaderSize];
    if (kind == sf::kEntry && rec.size() >= sf::kHeaderSize + sf::kEntryFixed)
      heap_.push_back(make_ref(int64_t(load_be64(&rec[sf::kHeaderSize + 1])), s.index, pos, rec.size()));
    else if (kind == sf::kFired && rec.size() == sf::kHeaderSize + sf::kFiredSize)
      fired.push_back(load_be64(&rec[sf::kHeaderSize + 1]));
  });
  if (!st.ok()) {
    heap_.resize(start);
    return st;
  }
  std::sort(fired.begin(), fired.end());
  auto live_end = std::remove_if(heap_.begin() + ptrdiff_t(start), heap_.end(), [&](const Ref& r) {
    return std::binary_search(fired.begin(), fired.end(), r.pos);
  });
  heap_.erase(live_end, heap_.end());
  s.outstanding += heap_.size() - start;
  for (size_t i = start; i < heap_.size(); ++i) std::push_heap(heap_.begin(), heap_.begin() + ptrdiff_t(i + 1), Later{});
  s.loaded = true;
  return {};
}

void Engine::advance_frontier(int64_t now) {
  const int64_t horizon = slot_of(now + cfg_.preload_ms);
  while (true) {
    auto it = slots_.lower_bound(frontier_);
    if (it == slots_.end() || it->first > horizon) {
      frontier_ = std::max(frontier_, horizon + 1);
      // Slots created in [old frontier, horizon] before this point were
      // handled by the loop; none exist unloaded below the new frontier.
      return;
    }
    if (!heap_.empty() && heap_.size() >= cfg_.max_loaded) {
      frontier_ = it->first;  // resume once enough Refs have fired
      return;
    }
    Slot& s = it->second;
    frontier_ = it->first + 1;
    if (s.loaded) continue;
    if (auto st = load(s); !st.ok()) {
      // Its entries stay on disk; they fire after a restart that can read them.
      WLOG_ERROR("delay", "cannot load {}: {}", path_of(s.index), st.error().message);
      s.loaded = true;
    }
  }
}

status Engine::schedule(const DelayTarget& t, const queue::Message& m, const Schedule& s,
                        std::function<void(status)> done) {
  if (closed_) return make_error(Errc::kNotFound, "delay engine closed");
  if (auto st = validate(s); !st.ok()) return st;
  for (const std::string* str : {&s.cron, &t.vhost, &t.exchange, &t.routing_key, &t.queue})
    if (str->size() > 0xffff) return make_error(Errc::kInvalidArgument, "delayed-message target name too long");
  std::optional<Cron> cron;
  if (!s.cron.empty()) cron = *Cron::parse(s.cron);
  const int64_t n = now();
  auto occ = first_occurrence(s, cron ? &*cron : nullptr, n);
  if (!occ) return make_error(Errc::kInvalidArgument, "cron expression '" + s.cron + "' never fires");

  encoder_.encode(m, n, batch_);
  record_.clear();
  sf::append_entry(*occ, s, t, batch_, record_);
  Slot& sl = slot(slot_of(std::max(occ->due, n)));
  auto pos = append(sl, record_);
  if (!pos.ok()) return pos.error();
  if (sl.loaded) {
    heap_.push_back(make_ref(occ->due, sl.index, *pos, record_.size()));
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    ++sl.outstanding;
    sl.retiring = false;
  }
  ++scheduled_total_;
  const bool durable = m.props.persistent();
  if (done && durable) waiters_.push_back(Waiter{write_seq_, std::move(done)});
  flush_requested(record_.size(), durable && !waiters_.empty());
  after_call();
  if (done && !durable) done(status{});
  if (!closed_) arm();
  return {};
}

void Engine::tick() {
  if (closed_ || in_tick_) return;
  in_tick_ = true;
  tick_scheduled_ = false;
  wake_requested_ = -1;
  const int64_t n = now();
  advance_frontier(n);
  while (!heap_.empty() && heap_.front().due <= n && in_flight_ < cfg_.max_in_flight && !closed_) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Ref ref = heap_.back();
    heap_.pop_back();
    fire(ref);
  }
  if (heap_.empty() || heap_.size() < cfg_.max_loaded) advance_frontier(n);  // loading may have been blocked
  // A large slot that has fired leaves a large, mostly empty vector behind.
  if (heap_.capacity() > 65536 && heap_.size() < heap_.capacity() / 4) heap_.shrink_to_fit();
  const int64_t current = slot_of(n);
  for (auto it = slots_.begin(); it != slots_.end() && it->first < current; ++it) maybe_retire(it->second, n);
  in_tick_ = false;
  if (closed_) return;
  after_call();
  arm();
}

void Engine::fire(Ref ref) {
  auto it = slots_.find(slot_of(ref));
  assert(it != slots_.end());
  Slot& s = it->second;
  if (ref.pos + ref.len > s.written) persist();  // it is still in the write buffer
  auto rec = std::make_shared<std::vector<uint8_t>>(ref.len);
  status st;
  if (auto o = open_file(s); !o.ok()) {
    st = o;
  } else if (auto got = s.file->pread(ref.pos, *rec); !got.ok()) {
    st = got.error();
  } else if (*got != ref.len || sf::body_length(rec->data()) != ref.len - sf::kHeaderSize ||
             !sf::crc_ok(rec->data(), {rec->data() + sf::kHeaderSize, ref.len - sf::kHeaderSize})) {
    st = make_error(Errc::kCorrupt, "record changed on disk");
  }
  result<sf::EntryView> view = st.ok() ? sf::decode_entry({rec->data() + sf::kHeaderSize, ref.len - sf::kHeaderSize})
                                       : result<sf::EntryView>(st.error());
  std::vector<queue::RecordRef> records;
  result<queue::Message> msg = make_error(Errc::kCorrupt, "no record");
  if (view.ok() && queue::parse_records(view->batch, records).ok() && records.size() == 1)
    msg = queue::decode_record(records[0], rec);
  if (!msg.ok()) {
    // Unreadable: there is nothing to deliver. Count it done so the slot can go.
    WLOG_ERROR("delay", "{}: entry at byte {} unreadable ({}); dropped", path_of(s.index), ref.pos,
               view.ok() ? msg.error().message : view.error().message);
    record_.clear();
    sf::append_fired(ref.pos, record_);
    (void)append(s, record_);
    --s.outstanding;
    flush_requested(record_.size(), false);
    return;
  }
  ++in_flight_;
  std::weak_ptr<Engine> weak = weak_from_this();
  hooks_.fire(view->target, *msg, [weak, ref, rec](status st) {
    // `rec` stays shared: the fired message's body aliases it.
    if (auto self = weak.lock()) self->fired(ref, *rec, std::move(st));
  });
}

void Engine::fired(Ref ref, const std::vector<uint8_t>& record, status st) {
  --in_flight_;
  if (closed_) return;
  const int64_t n = now();
  if (!st.ok()) {
    if (failures_++ % 100 == 0)  // a storage problem fails many at once: say it, not each
      WLOG_WARN("delay", "delayed message delivery failed ({}); retrying in {} ms", st.error().message,
                cfg_.retry_ms);
    ref = make_ref(n + cfg_.retry_ms, slot_of(ref), ref.pos, ref.len);
    heap_.push_back(ref);
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    arm();
    return;
  }
  ++fired_total_;
  auto view = sf::decode_entry({record.data() + sf::kHeaderSize, record.size() - sf::kHeaderSize});
  std::optional<Occurrence> next;
  if (view.ok()) {
    std::optional<Cron> cron;
    if (!view->schedule.cron.empty()) {
      if (auto c = Cron::parse(view->schedule.cron); c.ok()) cron = std::move(*c);
    }
    if (view->schedule.cron.empty() || cron) next = next_occurrence(view->schedule, cron ? &*cron : nullptr, view->occ, n);
  }
  // The next occurrence is written before the old entry is marked fired, so
  // a crash in between repeats a delivery rather than losing the schedule.
  if (next) {
    record_.clear();
    sf::append_rescheduled(record, *next, record_);
    Slot& ns = slot(slot_of(std::max(next->due, n)));
    auto pos = append(ns, record_);
    if (pos.ok() && ns.loaded) {
      heap_.push_back(make_ref(next->due, ns.index, *pos, record_.size()));
      std::push_heap(heap_.begin(), heap_.end(), Later{});
      ++ns.outstanding;
      ns.retiring = false;
    }
    flush_requested(record_.size(), false);
  }
  auto it = slots_.find(slot_of(ref));
  assert(it != slots_.end());
  Slot& s = it->second;
  record_.clear();
  sf::append_fired(ref.pos, record_);
  (void)append(s, record_);
  --s.outstanding;
  flush_requested(record_.size(), false);
  maybe_retire(s, n);
  after_call();
  // More may be waiting for a free in-flight place.
  if (!heap_.empty() && heap_.front().due <= n && hooks_.defer && !tick_scheduled_) {
    tick_scheduled_ = true;
    std::weak_ptr<Engine> weak = weak_from_this();
    hooks_.defer([weak] {
      if (auto self = weak.lock()) self->tick();
    });
  } else {
    arm();
  }
}

void Engine::maybe_retire(Slot& s, int64_t now) {
  if (!s.loaded || s.outstanding != 0 || s.retiring) return;
  if ((s.index + 1) * cfg_.slot_ms > now) return;  // new entries may still land in it
  s.retiring = true;
  s.retire_seq = write_seq_;
  retiring_.push_back(s.index);
  flush_requested(0, false);
}

void Engine::arm() {
  if (!hooks_.wake_at || closed_) return;
  std::optional<int64_t> at;
  auto consider = [&](int64_t t) { at = at ? std::min(*at, t) : t; };
  if (!heap_.empty() && in_flight_ < cfg_.max_in_flight) consider(heap_.front().due);
  if (heap_.size() < cfg_.max_loaded || heap_.empty()) {
    auto it = slots_.lower_bound(frontier_);
    if (it != slots_.end()) consider(it->first * cfg_.slot_ms - cfg_.preload_ms);
  }
  // The end of the first finished, loaded slot: it can be deleted then.
  for (auto it = slots_.begin(); it != slots_.end() && it->first < frontier_; ++it) {
    const Slot& s = it->second;
    if (s.loaded && s.outstanding == 0 && !s.retiring) {
      consider((s.index + 1) * cfg_.slot_ms);
      break;
    }
  }
  if (!at || *at == wake_requested_) return;
  wake_requested_ = *at;
  hooks_.wake_at(*at);
}

void Engine::after_call() {
  if (!hooks_.defer) return persist();
  if (persist_scheduled_) return;
  persist_scheduled_ = true;
  std::weak_ptr<Engine> weak = weak_from_this();
  hooks_.defer([weak] {
    if (auto self = weak.lock()) {
      self->persist_scheduled_ = false;
      self->persist();
    }
  });
}

void Engine::mark_unsynced(Slot& s) {
  if (s.unsynced) return;
  s.unsynced = true;
  to_sync_.push_back(s.index);
}

void Engine::persist() {
  if (closed_) return;
  std::vector<int64_t> failed;
  for (int64_t index : to_write_) {
    auto it = slots_.find(index);
    if (it == slots_.end() || it->second.out.empty()) continue;
    Slot& s = it->second;
    status st = open_file(s);
    if (st.ok()) st = s.file->append({reinterpret_cast<const uint8_t*>(s.out.data()), s.out.size()});
    if (!st.ok()) {
      // The bytes stay buffered and are tried again; confirms wait.
      WLOG_ERROR("delay", "cannot write {}: {}", path_of(index), st.error().message);
      failed.push_back(index);
      continue;
    }
    s.written += s.out.size();
    std::string().swap(s.out);  // give the buffer back: there may be thousands of slots
    mark_unsynced(s);
  }
  to_write_ = std::move(failed);
}

void Engine::flush_requested(size_t bytes, bool urgent) {
  if (hooks_.request_flush) hooks_.request_flush(shared_from_this(), bytes, urgent);
}

storage::FlushJob Engine::begin_flush_round() {
  persist();
  storage::FlushJob job;
  const bool unwritten = !to_write_.empty();  // a write failed: those records are not covered
  for (int64_t index : to_sync_) {
    auto it = slots_.find(index);
    if (it == slots_.end()) continue;
    Slot& s = it->second;
    if (s.file) job.files.push_back(s.file);
    s.unsynced = false;
    in_round_.push_back(index);
  }
  to_sync_.clear();
  round_seq_ = unwritten ? durable_seq_ : write_seq_;
  return job;
}

void Engine::end_flush_round(const storage::FlushJob& job, const status& st) {
  (void)job;
  if (!st.ok()) {
    WLOG_ERROR("delay", "delayed-message fdatasync failed: {}", st.error().message);
    in_round_.clear();
    fail_waiters(st);
    return;
  }
  durable_seq_ = std::max(durable_seq_, round_seq_);
  while (!waiters_.empty() && waiters_.front().seq <= durable_seq_) {
    auto done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done(status{});
    if (closed_) return;
  }
  std::vector<int64_t> still;
  for (int64_t index : retiring_) {
    auto it = slots_.find(index);
    if (it == slots_.end()) continue;
    Slot& s = it->second;
    if (!s.retiring) continue;
    if (s.retire_seq > durable_seq_) {
      still.push_back(index);
      continue;
    }
    if (s.outstanding != 0 || !s.out.empty()) {
      s.retiring = false;
      continue;
    }
    s.file.reset();
    if (auto rm = env_->remove_file(path_of(index)); !rm.ok() && env_->exists(path_of(index)))
      WLOG_WARN("delay", "cannot delete {}: {}", path_of(index), rm.error().message);
    slots_.erase(it);
  }
  retiring_ = std::move(still);
  if (!retiring_.empty()) flush_requested(0, false);
  // Unloaded slots keep no descriptor once their bytes are durable.
  for (int64_t index : in_round_) {
    auto it = slots_.find(index);
    if (it == slots_.end()) continue;
    Slot& s = it->second;
    if (!s.loaded && s.out.empty() && !s.unsynced) s.file.reset();
  }
  in_round_.clear();
  arm();
}

void Engine::fail_waiters(const status& st) {
  while (!waiters_.empty()) {
    auto done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done(st);
  }
}

status Engine::close() {
  if (closed_) return {};
  persist();
  status result;
  for (auto& [index, s] : slots_) {
    if (s.file) {
      if (auto st = s.file->sync(); !st.ok() && result.ok()) result = st;
      s.unsynced = false;
    }
  }
  closed_ = true;
  if (result.ok()) {
    durable_seq_ = write_seq_;
  }
  while (!waiters_.empty()) {
    auto done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done(result.ok() ? status{} : result);
  }
  for (auto& [index, s] : slots_)
    if (s.file) (void)s.file->close();
  slots_.clear();
  heap_.clear();
  return result;
}

}  // namespace wharf::broker::delay
