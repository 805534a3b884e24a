#include "amqp/protocol/writer.h"

#include <cassert>
#include <cstring>
#include <limits>

#include "base/endian.h"

namespace wharf::amqp {

void Writer::write_shortstr(std::string_view s) {
  if (s.size() > kMaxShortStr) {
    ok_ = false;
    s = s.substr(0, kMaxShortStr);
  }
  out_.append_u8(uint8_t(s.size()));
  out_.append(s.data(), s.size());
}

void Writer::write_longstr(std::string_view s) {
  write_longstr(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

void Writer::write_longstr(std::span<const uint8_t> b) {
  if (b.size() > std::numeric_limits<uint32_t>::max()) {
    ok_ = false;
    b = b.first(std::numeric_limits<uint32_t>::max());
  }
  out_.append_be32(uint32_t(b.size()));
  out_.append(b);
}

Writer::LongSlot Writer::reserve_long() {
  out_.append_be32(0);
  // append puts all four bytes at the end of the last chunk, a memory chunk.
  auto& chunks = out_.chunks();
  assert(!chunks.empty() && !chunks.back().is_file());
  return LongSlot{chunks.size() - 1, chunks.back().mem.size() - 4, out_.size()};
}

void Writer::fill_long(const LongSlot& s, uint32_t v) {
  auto& chunk = out_.chunks()[s.chunk];
  assert(!chunk.is_file() && s.offset + 4 <= chunk.mem.size());
  store_be32(chunk.mem.data() + s.offset, v);
}

void Writer::fill_size(const LongSlot& s) {
  const size_t n = bytes_since(s);
  if (n > std::numeric_limits<uint32_t>::max()) {
    ok_ = false;  // the size cannot be represented; the frame is unsendable
    return;
  }
  fill_long(s, uint32_t(n));
}

void Writer::write_table(const FieldTable& t) {
  const LongSlot size = reserve_long();
  for (const auto& e : t.entries) {
    write_shortstr(e.name);
    write_field_value(e.value);
  }
  fill_size(size);
}

void Writer::write_array(const FieldArray& a) {
  const LongSlot size = reserve_long();
  for (const auto& v : a.values) write_field_value(v);
  fill_size(size);
}

void Writer::write_field_value(const FieldValue& v) {
  out_.append_u8(uint8_t(v.tag()));
  write_value_of(v);
}

void Writer::write_value_of(const FieldValue& fv) {
  struct Visit {
    Writer& w;
    void operator()(bool x) { w.write_octet(x ? 1 : 0); }
    void operator()(int8_t x) { w.write_octet(uint8_t(x)); }
    void operator()(uint8_t x) { w.write_octet(x); }
    void operator()(int16_t x) { w.write_short(uint16_t(x)); }
    void operator()(uint16_t x) { w.write_short(x); }
    void operator()(int32_t x) { w.write_long(uint32_t(x)); }
    void operator()(uint32_t x) { w.write_long(x); }
    void operator()(int64_t x) { w.write_longlong(uint64_t(x)); }
    void operator()(float x) {
      uint32_t bits;
      std::memcpy(&bits, &x, 4);
      w.write_long(bits);
    }
    void operator()(double x) {
      uint64_t bits;
      std::memcpy(&bits, &x, 8);
      w.write_longlong(bits);
    }
    void operator()(const Decimal& x) {
      w.write_octet(x.scale);
      w.write_long(uint32_t(x.value));
    }
    void operator()(const std::string& x) { w.write_longstr(x); }
    void operator()(const ByteArray& x) { w.write_longstr(std::span<const uint8_t>(x.bytes)); }
    void operator()(const FieldArray& x) { w.write_array(x); }
    void operator()(const Timestamp& x) { w.write_timestamp(x.seconds); }
    void operator()(const FieldTable& x) { w.write_table(x); }
    void operator()(const Void&) {}
  };
  std::visit(Visit{*this}, fv.v);
}

}  // namespace wharf::amqp
