// ACK and NACK. Ack ids are "ID:wharf-<connection>-<n>" with n counting the
// connection's deliveries; STOMP 1.2 sends it back in `id`, 1.0 and 1.1 in
// `message-id` (the MESSAGE frame's message-id is the same string).
//   client             cumulative: every unacked delivery of that
//                      subscription up to and including it
//   client-individual  just that delivery
// NACK hands the deliveries back to their queues (redelivered, one more
// towards the redelivery limit, then DLQ.<queue>). An id that is not (or no
// longer) unacked is ignored, as acking twice is harmless.
#include "stomp/numbers.h"
#include "stomp/session.h"

namespace wharf::stomp {

namespace queue = broker::queue;

std::optional<uint64_t> Session::ack_target(const Frame& f) {
  auto id = f.header("id");
  if (!id || version_ != Version::k1_2) {
    if (auto m = f.header("message-id")) id = m;
  }
  if (!id) {
    protocol_error(f.command + " without " + (version_ == Version::k1_2 ? "id" : "message-id") + " header", {}, &f);
    return std::nullopt;
  }
  std::string_view s = *id;
  if (s.substr(0, id_prefix_.size()) == id_prefix_) {
    s.remove_prefix(id_prefix_.size());
    if (auto n = parse_number<uint64_t>(s)) return *n;
  }
  protocol_error(f.command + " names an unknown message '" + std::string(*id) + "'", {}, &f);
  return std::nullopt;
}

void Session::ack(Frame&& f, bool positive) {
  auto target = ack_target(f);
  if (!target) return;
  if (held_in_tx(f)) return;
  std::vector<uint64_t> tags;
  auto it = unacked_.find(*target);
  if (it != unacked_.end()) {
    uint64_t serial = it->second.sub;
    Sub* s = sub_by_serial(serial);
    if (s && s->ack == AckMode::kClient) {
      for (auto u = unacked_.begin(); u != unacked_.end() && u->first <= *target; ++u)
        if (u->second.sub == serial) tags.push_back(u->first);
    } else {
      tags.push_back(*target);
    }
    settle(tags, positive);
  }
  if (auto r = f.header("receipt")) open_pending(std::string(*r), 0);
}

void Session::settle(const std::vector<uint64_t>& tags, bool positive) {
  // Grouped by queue: one post per queue shard. Stream deliveries only give
  // their reader its credit back.
  std::unordered_map<uint32_t, std::vector<queue::DeliveryTag>> by_queue;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_reader;  // by Sub::serial
  for (uint64_t t : tags) {
    auto it = unacked_.find(t);
    if (it == unacked_.end()) continue;
    if (it->second.queue == kStreamSlot) by_reader[it->second.sub].push_back(t);
    else by_queue[it->second.queue].push_back(it->second.qtag);
    unacked_.erase(it);
  }
  for (auto& [serial, raw] : by_reader)
    if (Sub* s = sub_by_serial(serial); s && s->reader) s->reader->settle(raw);
  for (auto& [qi, qtags] : by_queue) {
    const QueueSlot& q = queues_[qi];
    shards_.run_at(q.shard, [host = &host_, vhost = vhost_, name = q.name, sess = qsession_, qtags = std::move(qtags),
                             positive] {
      auto live = host->get(vhost, name);
      if (!live.ok()) return;
      for (auto t : qtags) {
        if (positive) (void)(*live)->ack(sess, t, false);
        else (void)(*live)->reject(sess, t, false, /*requeue=*/true);
      }
    });
  }
}

}  // namespace wharf::stomp
