#include "kafka/handlers.h"

#include <algorithm>
#include <array>

namespace wharf::kafka {

// Defined next to each handler, with its supported version range.
extern const Handler kProduceHandler, kFetchHandler, kListOffsetsHandler, kMetadataHandler, kApiVersionsHandler,
    kCreateTopicsHandler, kDeleteTopicsHandler, kCreatePartitionsHandler, kDescribeConfigsHandler,
    kDescribeClusterHandler, kInitProducerIdHandler, kFindCoordinatorHandler, kJoinGroupHandler, kSyncGroupHandler,
    kHeartbeatHandler, kLeaveGroupHandler, kOffsetCommitHandler, kOffsetFetchHandler, kListGroupsHandler,
    kDescribeGroupsHandler, kDeleteGroupsHandler;

namespace {
const std::array<const Handler*, 21> kHandlers = {
    &kFindCoordinatorHandler, &kJoinGroupHandler, &kSyncGroupHandler, &kHeartbeatHandler, &kLeaveGroupHandler,
    &kOffsetCommitHandler, &kOffsetFetchHandler, &kListGroupsHandler, &kDescribeGroupsHandler, &kDeleteGroupsHandler,
    &kProduceHandler,      &kFetchHandler,         &kListOffsetsHandler,    &kMetadataHandler,
    &kApiVersionsHandler,  &kCreateTopicsHandler,  &kDeleteTopicsHandler,   &kInitProducerIdHandler,
    &kDescribeConfigsHandler, &kCreatePartitionsHandler, &kDescribeClusterHandler,
};

std::vector<Handler> sorted() {
  std::vector<Handler> v;
  for (auto* h : kHandlers) v.push_back(*h);
  std::sort(v.begin(), v.end(), [](const Handler& a, const Handler& b) { return a.api_key < b.api_key; });
  return v;
}
}  // namespace

std::span<const Handler> all_handlers() {
  static const std::vector<Handler> v = sorted();
  return v;
}

const Handler* find_handler(int16_t api_key) {
  for (auto& h : all_handlers())
    if (h.api_key == api_key) return &h;
  return nullptr;
}

}  // namespace wharf::kafka
