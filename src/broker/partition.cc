#include "broker/partition.h"

#include <unistd.h>

#include "base/logging.h"
#include "storage/record_batch.h"

namespace wharf::broker {

result<std::shared_ptr<Partition>> Partition::open(storage::Env* env, std::string dir, std::string topic, int32_t id,
                                                   storage::LogConfig config, int32_t max_message_bytes) {
  auto log = storage::Log::open(env, dir, config);
  if (!log.ok()) return log.error();
  std::shared_ptr<Partition> p(new Partition());
  p->dir_ = std::move(dir);
  p->topic_ = std::move(topic);
  p->id_ = id;
  p->max_message_bytes_ = max_message_bytes;
  p->log_ = std::move(*log);
  auto st = p->rebuild_producer_state();
  if (!st.ok()) return st.error();
  return p;
}

status Partition::rebuild_producer_state() {
  // Snapshot first, then replay the headers of batches written after it. A
  // snapshot newer than the log (its tail was truncated by recovery) is
  // discarded and the whole log replayed.
  int64_t covered = producers_.load(dir_ + "/producers.snapshot");
  if (covered > log_->end_offset().value || covered < log_->start_offset().value) {
    producers_ = ProducerStateTable();
    covered = log_->start_offset().value;
  }
  return log_->scan_headers(Offset(covered), [this](const storage::BatchHeader& h) {
    if (h.producer_id >= 0 && h.base_sequence >= 0) {
      int32_t last_seq = int32_t((int64_t(h.base_sequence) + h.last_offset_delta) % (int64_t(INT32_MAX) + 1));
      producers_.record(h.producer_id, h.producer_epoch, h.base_sequence, last_seq, h.base_offset,
                        h.base_offset + h.last_offset_delta);
    }
  });
}

Partition::AppendOutcome Partition::append(std::span<uint8_t> records, int64_t now_ms) {
  AppendOutcome out;
  if (closed_) { out.err = Errc::kNotFound; out.message = "partition closed"; return out; }
  auto batches = storage::split_batches(records);
  if (!batches.ok()) { out.err = Errc::kCorrupt; out.message = batches.error().message; return out; }
  if (batches->empty()) { out.err = Errc::kCorrupt; out.message = "no record batch"; return out; }
  // Validate everything before writing anything.
  std::vector<storage::BatchHeader> headers;
  headers.reserve(batches->size());
  for (auto& b : *batches) {
    if (b.size() > size_t(max_message_bytes_)) {
      out.err = Errc::kMessageTooLarge;
      out.message = "batch of " + std::to_string(b.size()) + " bytes exceeds max.message.bytes";
      return out;
    }
    auto st = storage::validate_batch(b);
    if (!st.ok()) { out.err = st.code(); out.message = st.error().message; return out; }
    auto h = storage::parse_batch_header(b);
    if (!h.ok()) { out.err = Errc::kCorrupt; out.message = h.error().message; return out; }
    headers.push_back(*h);
  }
  for (size_t i = 0; i < batches->size(); ++i) {
    auto& h = headers[i];
    int32_t last_seq = -1;
    bool idempotent = h.producer_id >= 0 && h.base_sequence >= 0;
    if (idempotent) {
      last_seq = int32_t((int64_t(h.base_sequence) + h.last_offset_delta) % (int64_t(INT32_MAX) + 1));
      auto c = producers_.check(h.producer_id, h.producer_epoch, h.base_sequence, last_seq);
      using V = ProducerStateTable::Verdict;
      if (c.verdict == V::kDuplicate) {
        if (out.base_offset < 0) out.base_offset = c.duplicate_offset;
        continue;  // already stored: acknowledge with the original offset
      }
      if (c.verdict == V::kOutOfOrder) {
        out.err = Errc::kOutOfOrderSequence;
        out.message = "out of order sequence " + std::to_string(h.base_sequence) + " for producer " +
                      std::to_string(h.producer_id);
        return out;
      }
      if (c.verdict == V::kInvalidEpoch) {
        out.err = Errc::kInvalidProducerEpoch;
        out.message = "producer epoch " + std::to_string(h.producer_epoch) + " is fenced";
        return out;
      }
    }
    auto r = log_->append((*batches)[i], now_ms);
    if (!r.ok()) { out.err = r.code(); out.message = r.error().message; return out; }
    if (idempotent)
      producers_.record(h.producer_id, h.producer_epoch, h.base_sequence, last_seq, r->base_offset.value,
                        r->last_offset.value);
    if (out.base_offset < 0) out.base_offset = r->base_offset.value;
    out.last_offset = r->last_offset.value;
    out.bytes += (*batches)[i].size();
  }
  if (out.last_offset >= 0 && !data_waiters_.empty()) {
    auto waiters = std::move(data_waiters_);
    data_waiters_.clear();
    for (auto& w : waiters)
      if (!w.alive.expired()) w.fn();
  }
  return out;
}

void Partition::add_data_waiter(std::weak_ptr<void> alive, std::function<void()> w) {
  std::erase_if(data_waiters_, [](const DataWaiter& d) { return d.alive.expired(); });
  data_waiters_.push_back(DataWaiter{std::move(alive), std::move(w)});
}

void Partition::wait_durable(int64_t offset, std::function<void(status)> cb) {
  if (log_->durable_offset().value > offset) { cb(status{}); return; }
  durable_waiters_.emplace(offset, std::move(cb));
}

void Partition::on_flushed(const status& st) {
  if (durable_waiters_.empty()) return;
  if (!st.ok()) {
    WLOG_ERROR("broker", "flush of {}-{} failed: {}", topic_, id_, st.error().message);
    auto ws = std::move(durable_waiters_);
    durable_waiters_.clear();
    for (auto& [_, cb] : ws) cb(st);
    return;
  }
  int64_t durable = log_->durable_offset().value;
  while (!durable_waiters_.empty() && durable_waiters_.begin()->first < durable) {
    auto cb = std::move(durable_waiters_.begin()->second);
    durable_waiters_.erase(durable_waiters_.begin());
    cb(status{});
  }
}

std::pair<int64_t, int64_t> Partition::offset_for_time(int64_t ts) const {
  auto o = log_->offset_for_timestamp(ts);
  if (!o) return {-1, -1};
  auto rr = log_->read(*o, 1, true);
  if (!rr.ok() || rr->slices.empty()) return {o->value, -1};
  auto& s = rr->slices.front();
  std::vector<uint8_t> buf(s.len);
  if (::pread(s.fd, buf.data(), s.len, s.pos) != ssize_t(s.len)) return {o->value, -1};
  // The slice may hold several batches; look through them in order.
  std::span<const uint8_t> rest(buf);
  while (rest.size() >= storage::batch_layout::kHeaderSize) {
    auto h = storage::parse_batch_header(rest);
    if (!h.ok() || h->total_size() > rest.size()) break;
    auto batch = rest.subspan(0, h->total_size());
    if (h->max_timestamp >= ts) {
      // The exact record, looking inside compressed batches too, as Kafka does.
      auto r = storage::first_record_at_or_after(batch, ts);
      if (r.ok() && r->has_value()) return {(*r)->offset, (*r)->timestamp};
      // A batch we cannot read (a producer may send garbage compressed bytes
      // with a valid CRC) or whose records belie its max timestamp: the batch
      // start is the best answer left. Debug only: every lookup would repeat it.
      if (!r.ok()) {
        WLOG_DEBUG("broker", "ListOffsets on {}-{}: batch at offset {}: {}", topic_, id_, h->base_offset,
                   r.error().message);
      }
      return {h->base_offset, h->max_timestamp};
    }
    rest = rest.subspan(h->total_size());
  }
  return {o->value, -1};
}

status Partition::save_producer_snapshot() {
  if (closed_ || producers_.size() == 0) return {};
  return producers_.save(dir_ + "/producers.snapshot", log_->end_offset().value);
}

size_t Partition::apply_retention(int64_t now_ms) {
  if (closed_) return 0;
  auto r = log_->apply_retention(now_ms);
  if (!r.ok()) {
    WLOG_WARN("broker", "retention on {}-{} failed: {}", topic_, id_, r.error().message);
    return 0;
  }
  if (*r > 0) WLOG_INFO("broker", "retention deleted {} segment(s) of {}-{}, log start now {}", *r, topic_, id_,
                        log_->start_offset().value);
  return *r;
}

status Partition::close() {
  if (closed_) return {};
  auto snap = save_producer_snapshot();
  if (!snap.ok()) WLOG_WARN("broker", "producer snapshot of {}-{}: {}", topic_, id_, snap.error().message);
  closed_ = true;
  auto st = log_->close();
  for (auto& [_, cb] : durable_waiters_) cb(st.ok() ? status{} : st);
  durable_waiters_.clear();
  auto waiters = std::move(data_waiters_);
  data_waiters_.clear();
  for (auto& w : waiters)
    if (!w.alive.expired()) w.fn();
  return st;
}

}  // namespace wharf::broker
