#include "broker/stream_reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "broker/broker.h"

namespace wharf::broker {

StreamReader::StreamReader(Broker& broker, std::string topic, int32_t partitions, StreamStart start,
                           uint32_t prefetch, Sink sink, Gone gone)
    : broker_(broker),
      topic_(std::move(topic)),
      start_(start),
      prefetch_(prefetch),
      sink_(std::move(sink)),
      gone_(std::move(gone)),
      home_(Shards::current()) {
  parts_.resize(size_t(std::max(partitions, 0)));
  for (int32_t i = 0; i < int32_t(parts_.size()); ++i) {
    Part& p = parts_[size_t(i)];
    p.id = i;
    p.shard = broker_.shard_of(topic_, i);
    p.cursor = std::make_shared<StreamCursor>();
    p.alive = std::make_shared<int>(0);
  }
}

StreamReader::~StreamReader() = default;

void StreamReader::open(std::function<void(status)> ready) {
  ready_ = std::move(ready);
  unresolved_ = parts_.size();
  if (unresolved_ == 0) {
    auto r = std::move(ready_);
    return r(make_error(Errc::kNotFound, fmt::format("topic {} has no partitions", topic_)));
  }
  std::weak_ptr<StreamReader> weak = weak_from_this();
  for (Part& p : parts_) {
    broker_.shards().post(p.shard, [shards = &broker_.shards(), b = &broker_, topic = topic_, id = p.id,
                                    start = start_, weak, home = home_] {
      result<int64_t> r = make_error(Errc::kNotFound, fmt::format("partition {}-{} does not exist", topic, id));
      auto part = b->partition(topic, id);
      if (part && !part->closed()) r = start_offset(start, *part);
      shards->post(home, [weak, id, r = std::move(r)]() mutable {
        if (auto self = weak.lock()) self->on_resolved(id, std::move(r));
      });
    });
  }
}

void StreamReader::on_resolved(int32_t id, result<int64_t> r) {
  Part& p = parts_[size_t(id)];
  if (r.ok()) {
    p.next = *r;
  } else if (open_error_.ok()) {
    open_error_ = r.error();
  }
  if (--unresolved_ > 0 || !ready_) return;
  auto ready = std::move(ready_);
  ready(open_error_);
}

void StreamReader::start(bool paused) {
  started_ = true;
  paused_ = paused;
  pump();
}

void StreamReader::set_paused(bool paused) {
  paused_ = paused;
  if (!paused) pump();
}

void StreamReader::stop() {
  stopped_ = true;
  for (Part& p : parts_) p.alive.reset();  // armed data waiters will not fire
}

size_t StreamReader::settle(const std::vector<uint64_t>& tags) {
  size_t n = 0;
  for (uint64_t t : tags) n += unacked_.erase(t);
  if (n > 0) pump();
  return n;
}

void StreamReader::pump() {
  if (stopped_ || paused_ || !started_ || parts_.empty()) return;
  uint64_t used = uint64_t(unacked_.size()) + reserved_;
  if (used >= prefetch_) return;
  uint32_t avail = uint32_t(prefetch_ - used);
  size_t candidates = 0;
  for (const Part& p : parts_)
    if (!p.in_flight && p.readable) ++candidates;
  size_t n = parts_.size();
  for (size_t i = 0; i < n && avail > 0 && candidates > 0; ++i) {
    Part& p = parts_[(rr_ + i) % n];
    if (p.in_flight || !p.readable) continue;
    uint32_t share = std::max<uint32_t>(1, avail / uint32_t(candidates));
    share = std::min({share, avail, kMaxPerPoll});
    --candidates;
    avail -= share;
    poll(p, share);
  }
  rr_ = (rr_ + 1) % n;
}

void StreamReader::poll(Part& p, uint32_t max) {
  p.in_flight = true;
  p.asked = max;
  reserved_ += max;
  std::weak_ptr<StreamReader> weak = weak_from_this();
  std::weak_ptr<void> alive = p.alive;
  Shards* shards = &broker_.shards();
  // Runs on the partition's shard; touches only the partition, the cursor
  // (one poll at a time) and copies of plain values. `weak` is never locked
  // here: the reader is only ever used (and destroyed) at home. The answer
  // and a later wake-up go home through the same Shards outbox, so they
  // arrive in that order.
  shards->post(p.shard, [shards, b = &broker_, topic = topic_, id = p.id, next = p.next, max, cursor = p.cursor,
                         alive, weak, home = home_]() mutable {
    Reply r;
    r.next = next;
    auto part = b->partition(topic, id);
    if (!part || part->closed()) {
      r.st = make_error(Errc::kNotFound, fmt::format("partition {}-{} is gone", topic, id));
    } else {
      auto got = cursor->read(part->log(), r.next, max, r.records);
      if (!got.ok()) {
        r.st = got.error();
      } else if (r.next >= part->log().end_offset().value) {
        r.caught_up = true;
        // Everything buffered was read: an idle reader keeps no window (the
        // next read starts at the new data anyway).
        cursor->clear();
        // Armed in the same step as the read, so no append can slip between.
        part->add_data_waiter(alive, [shards, weak, id, home] {
          shards->post(home, [weak, id] {
            if (auto self = weak.lock()) self->on_data(id);
          });
        });
      }
    }
    shards->post(home, [weak, id, r = std::move(r)]() mutable {
      if (auto self = weak.lock()) self->on_reply(id, std::move(r));
    });
  });
}

void StreamReader::on_reply(int32_t id, Reply&& r) {
  Part& p = parts_[size_t(id)];
  p.in_flight = false;
  reserved_ -= p.asked;
  p.asked = 0;
  if (stopped_) return;
  if (!r.st.ok()) return fail(r.st.error());
  p.next = r.next;
  if (r.caught_up) p.readable = false;
  if (!r.records.empty()) {
    sink_(id, std::move(r.records));
    if (stopped_) return;  // the sink may end the consumer
  }
  pump();
}

void StreamReader::on_data(int32_t id) {
  if (stopped_) return;
  parts_[size_t(id)].readable = true;
  pump();
}

void StreamReader::fail(const Error& e) {
  stop();
  if (gone_) gone_(e);
}

}  // namespace wharf::broker
