// libFuzzer target for the Kafka request decoder.
//
// Input layout: int16 api key, int16 api version (big-endian), then the bytes
// of a request as it follows the 4-byte size prefix on the wire: request
// header (version chosen by request_header_version) and body.
//
// Checks: decoding never crashes or reads out of bounds (ASan/UBSan), and any
// request that decodes re-encodes to bytes that decode to the same encoding.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <variant>
#include <vector>

#include "base/endian.h"
#include "kafka/protocol/generated/requests.h"

using namespace wharf;
using namespace wharf::kafka;
using namespace wharf::kafka::msg;

namespace {

std::vector<uint8_t> encode_any(const AnyRequest& any, int16_t version) {
  OutBuffer ob;
  Writer w(ob);
  std::visit(
      [&](const auto& m) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, std::monostate>) {
          m.encode(w, version);
        }
      },
      any);
  return ob.to_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const int16_t api_key = int16_t(load_be16(data));
  const int16_t api_version = int16_t(load_be16(data + 2));
  // Mutable copy: Records views point into it, as they do into a request buffer.
  std::vector<uint8_t> buf(data + 4, data + size);
  Reader r{std::span<uint8_t>(buf)};

  int16_t hv = request_header_version(api_key, api_version);
  RequestHeader header;
  if (!header.decode(r, hv < 0 ? 1 : hv)) return 0;
  if (hv < 0) return 0;  // unknown API: the broker would reply/close here

  AnyRequest req;
  if (!decode_request(api_key, api_version, r, req)) return 0;

  // Round-trip property: encode, decode again, re-encode identically.
  std::vector<uint8_t> once = encode_any(req, api_version);
  std::vector<uint8_t> copy = once;
  Reader r2{std::span<uint8_t>(copy)};
  AnyRequest again;
  if (!decode_request(api_key, api_version, r2, again) || !r2.at_end()) abort();
  if (encode_any(again, api_version) != once) abort();
  return 0;
}
