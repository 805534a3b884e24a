// Helpers shared by the Kafka protocol tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/out_buffer.h"
#include "kafka/protocol/wire.h"

namespace wharf::kafka::test {

using Bytes = std::vector<uint8_t>;

template <class T>
Bytes encode(const T& msg, int16_t version) {
  OutBuffer ob;
  Writer w(ob);
  msg.encode(w, version);
  return ob.to_bytes();
}

inline Bytes str_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Encodes `msg`, decodes it back (into `out`, whose Records views point into
// `buf`), checks the decoder consumed everything and that re-encoding gives the
// same bytes. Every strict prefix of the encoding must fail to decode.
template <class T>
void round_trip(const T& msg, int16_t version, T& out, Bytes& buf) {
  buf = encode(msg, version);
  Reader r{std::span<uint8_t>(buf)};
  ASSERT_TRUE(out.decode(r, version)) << "version " << version;
  EXPECT_TRUE(r.at_end()) << "version " << version;
  EXPECT_EQ(encode(out, version), buf) << "re-encode differs at version " << version;
  Bytes copy = buf;
  for (size_t n = 0; n < copy.size(); ++n) {
    T partial;
    Reader pr{std::span<uint8_t>(copy.data(), n)};
    EXPECT_FALSE(partial.decode(pr, version)) << "prefix " << n << " of " << copy.size()
                                              << " decoded at version " << version;
  }
}

}  // namespace wharf::kafka::test
