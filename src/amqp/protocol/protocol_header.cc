#include "amqp/protocol/protocol_header.h"

#include <algorithm>

namespace wharf::amqp {

HeaderCheck check_protocol_header(std::span<const uint8_t> data) {
  const size_t n = std::min(data.size(), kProtocolHeader.size());
  if (!std::equal(data.begin(), data.begin() + n, kProtocolHeader.begin())) return HeaderCheck::kMismatch;
  return n == kProtocolHeader.size() ? HeaderCheck::kOk : HeaderCheck::kNeedMore;
}

}  // namespace wharf::amqp
