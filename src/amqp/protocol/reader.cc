#include "amqp/protocol/reader.h"

#include <cstring>

#include "base/endian.h"

namespace wharf::amqp {

void Reader::fail(const char* why) {
  if (error_ == nullptr) error_ = why;
  pos_ = buf_.size();
}

uint8_t Reader::read_octet() {
  if (!need(1)) return 0;
  return buf_[pos_++];
}

uint16_t Reader::read_short() {
  if (!need(2)) return 0;
  uint16_t v = load_be16(buf_.data() + pos_);
  pos_ += 2;
  return v;
}

uint32_t Reader::read_long() {
  if (!need(4)) return 0;
  uint32_t v = load_be32(buf_.data() + pos_);
  pos_ += 4;
  return v;
}

uint64_t Reader::read_longlong() {
  if (!need(8)) return 0;
  uint64_t v = load_be64(buf_.data() + pos_);
  pos_ += 8;
  return v;
}

std::span<const uint8_t> Reader::read_raw(size_t n) {
  if (!need(n)) return {};
  auto s = buf_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::string Reader::read_shortstr() {
  uint8_t n = read_octet();
  auto b = read_raw(n);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

bool Reader::read_len32(uint32_t& n) {
  n = read_long();
  if (!ok()) return false;
  if (n > remaining()) {
    fail("length past end of frame");
    return false;
  }
  return true;
}

std::string Reader::read_longstr() {
  uint32_t n;
  if (!read_len32(n)) return {};
  auto b = read_raw(n);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

FieldTable Reader::read_table() {
  FieldTable t;
  uint32_t size;
  if (!read_len32(size)) return t;
  if (++depth_ > kMaxDepth) {
    --depth_;
    fail("field tables nested too deeply");
    return t;
  }
  // Decode the entries from a sub-reader bounded by the table size, so a
  // malformed entry can never read past the table into the next argument.
  Reader sub(buf_.subspan(pos_, size));
  sub.depth_ = depth_;
  while (sub.ok() && !sub.at_end()) {
    FieldEntry e;
    e.name = sub.read_shortstr();
    e.value = sub.read_field_value();
    if (sub.ok()) t.entries.push_back(std::move(e));
  }
  --depth_;
  if (!sub.ok()) {
    fail(sub.error());
    return FieldTable{};
  }
  pos_ += size;
  return t;
}

FieldArray Reader::read_array() {
  FieldArray a;
  uint32_t size;
  if (!read_len32(size)) return a;
  if (++depth_ > kMaxDepth) {
    --depth_;
    fail("field tables nested too deeply");
    return a;
  }
  Reader sub(buf_.subspan(pos_, size));
  sub.depth_ = depth_;
  while (sub.ok() && !sub.at_end()) {
    FieldValue v = sub.read_field_value();
    if (sub.ok()) a.values.push_back(std::move(v));
  }
  --depth_;
  if (!sub.ok()) {
    fail(sub.error());
    return FieldArray{};
  }
  pos_ += size;
  return a;
}

FieldValue Reader::read_field_value() {
  uint8_t tag = read_octet();
  if (!ok()) return {};
  return read_value_of(tag);
}

FieldValue Reader::read_value_of(uint8_t tag) {
  switch (tag) {
    case 't': return FieldValue(read_octet() != 0);
    case 'b': return FieldValue(int8_t(read_octet()));
    case 'B': return FieldValue(uint8_t(read_octet()));
    case 's': return FieldValue(int16_t(read_short()));
    case 'u': return FieldValue(uint16_t(read_short()));
    case 'I': return FieldValue(int32_t(read_long()));
    case 'i': return FieldValue(uint32_t(read_long()));
    case 'l': return FieldValue(int64_t(read_longlong()));
    case 'f': {
      uint32_t bits = read_long();
      float f;
      std::memcpy(&f, &bits, 4);
      return FieldValue(f);
    }
    case 'd': {
      uint64_t bits = read_longlong();
      double d;
      std::memcpy(&d, &bits, 8);
      return FieldValue(d);
    }
    case 'D': {
      Decimal d;
      d.scale = read_octet();
      d.value = int32_t(read_long());
      return FieldValue(d);
    }
    case 'S': return FieldValue(read_longstr());
    case 'x': {
      uint32_t n;
      if (!read_len32(n)) return {};
      auto b = read_raw(n);
      return FieldValue(ByteArray{std::vector<uint8_t>(b.begin(), b.end())});
    }
    case 'A': return FieldValue(read_array());
    case 'T': return FieldValue(Timestamp{read_longlong()});
    case 'F': return FieldValue(read_table());
    case 'V': return FieldValue(Void{});
    default:
      fail("unknown field type");
      return {};
  }
}

}  // namespace wharf::amqp
