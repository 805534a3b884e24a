// GroupError: the consumer-group coordinator's error codes. Every value EQUALS
// the Kafka protocol error code of the same name, so the Kafka front end may
// static_cast<int16_t>() it onto the wire; other front ends map it themselves.
#pragma once

#include <cstdint>
#include <string_view>

namespace wharf::broker::group {

enum class GroupError : int16_t {
  NONE = 0,
  UNKNOWN_SERVER_ERROR = -1,
  UNKNOWN_TOPIC_OR_PARTITION = 3,
  OFFSET_METADATA_TOO_LARGE = 12,
  COORDINATOR_LOAD_IN_PROGRESS = 14,
  COORDINATOR_NOT_AVAILABLE = 15,
  NOT_COORDINATOR = 16,
  ILLEGAL_GENERATION = 22,
  INCONSISTENT_GROUP_PROTOCOL = 23,
  INVALID_GROUP_ID = 24,
  UNKNOWN_MEMBER_ID = 25,
  INVALID_SESSION_TIMEOUT = 26,
  REBALANCE_IN_PROGRESS = 27,
  INVALID_COMMIT_OFFSET_SIZE = 28,
  NON_EMPTY_GROUP = 68,
  GROUP_ID_NOT_FOUND = 69,
  MEMBER_ID_REQUIRED = 79,
  GROUP_MAX_SIZE_REACHED = 81,
  FENCED_INSTANCE_ID = 82,
  UNSTABLE_OFFSET_COMMIT = 88,
};

// Kafka's upper-case name of the error, for logs and test failure messages.
std::string_view group_error_name(GroupError e);

}  // namespace wharf::broker::group
