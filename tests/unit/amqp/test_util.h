// Helpers shared by the AMQP protocol tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "amqp/protocol/generated/methods.h"
#include "amqp/protocol/reader.h"
#include "amqp/protocol/writer.h"
#include "base/out_buffer.h"

namespace wharf::amqp::test {

using Bytes = std::vector<uint8_t>;

inline Bytes str_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A short string: octet length, then the bytes.
inline Bytes shortstr(std::string_view s) { return cat({{uint8_t(s.size())}, str_bytes(s)}); }

// A long string: big-endian 32-bit length, then the bytes.
inline Bytes longstr(std::string_view s) {
  uint32_t n = uint32_t(s.size());
  return cat({{uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}, str_bytes(s)});
}

inline Bytes be32(uint32_t n) { return {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}; }

// Encodes with a Writer; fails the test if the Writer reports a value that
// did not fit.
template <class F>
Bytes write_with(F&& f) {
  OutBuffer ob;
  Writer w(ob);
  f(w);
  EXPECT_TRUE(w.ok());
  return ob.to_bytes();
}

// Method frame payload: class-id, method-id, arguments.
inline Bytes method_payload(const msg::AnyMethod& m) {
  return write_with([&](Writer& w) { msg::encode_method(m, w); });
}

}  // namespace wharf::amqp::test
