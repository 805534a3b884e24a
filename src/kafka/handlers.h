// The Kafka APIs Wharf serves. Each handler lives in handlers/<api>.cc and
// declares its supported version range next to its code (kXxxHandler).
#pragma once

#include <span>

#include "kafka/request.h"

namespace wharf::kafka {

// All handlers, sorted by API key.
std::span<const Handler> all_handlers();
const Handler* find_handler(int16_t api_key);

// KIP-511: answer an ApiVersions request of a version we do not know with
// UNSUPPORTED_VERSION and our ranges, encoded as v0.
void answer_unsupported_api_versions(const RequestPtr& req);

}  // namespace wharf::kafka
