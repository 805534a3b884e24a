// Helpers for the consumer-group handlers: run work on the group's shard
// (where its coordinator lives) and come back to the connection's shard.
#pragma once

#include <string>
#include <vector>

#include "broker/group/group_coordinator.h"
#include "kafka/request.h"

namespace wharf::kafka {

inline std::string to_str(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }
inline std::vector<uint8_t> to_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
inline int16_t code(broker::group::GroupError e) { return int16_t(e); }

// Runs `work(coordinator)` on the group's shard, then `then(result)` here.
template <class Work, class Then>
void with_group(const RequestPtr& req, const std::string& group_id, Work work, Then then) {
  auto& b = req->broker();
  b.shards().call(b.group_shard(group_id), [&b, work = std::move(work)]() mutable { return work(b.groups()); },
                  std::move(then));
}

// Same for coordinator calls that answer through a callback.
template <class R, class Work, class Then>
void with_group_async(const RequestPtr& req, const std::string& group_id, Work work, Then then) {
  auto& b = req->broker();
  b.shards().call_async<R>(
      b.group_shard(group_id),
      [&b, work = std::move(work)](auto done) mutable { work(b.groups(), std::move(done)); }, std::move(then));
}

}  // namespace wharf::kafka
