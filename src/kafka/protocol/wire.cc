#include "kafka/protocol/wire.h"

#include <cstring>

#include "base/endian.h"

namespace wharf::kafka {

// ---------------------------------------------------------------- Records

size_t Records::total_size() const {
  size_t n = data.size() + mem.size();
  for (const auto& s : slices) n += s.len;
  return n;
}

bool Records::operator==(const Records& o) const {
  if (is_null != o.is_null || data.size() != o.data.size() || mem != o.mem ||
      slices.size() != o.slices.size()) {
    return false;
  }
  if (!data.empty() && std::memcmp(data.data(), o.data.data(), data.size()) != 0) return false;
  for (size_t i = 0; i < slices.size(); ++i) {
    const auto& a = slices[i];
    const auto& b = o.slices[i];
    if (a.fd != b.fd || a.pos != b.pos || a.len != b.len) return false;
  }
  return true;
}

// ---------------------------------------------------------------- Reader

int8_t Reader::read_int8() {
  if (!need(1)) return 0;
  return int8_t(buf_[pos_++]);
}

int16_t Reader::read_int16() {
  if (!need(2)) return 0;
  int16_t v = int16_t(load_be16(buf_.data() + pos_));
  pos_ += 2;
  return v;
}

int32_t Reader::read_int32() {
  if (!need(4)) return 0;
  int32_t v = int32_t(load_be32(buf_.data() + pos_));
  pos_ += 4;
  return v;
}

int64_t Reader::read_int64() {
  if (!need(8)) return 0;
  int64_t v = int64_t(load_be64(buf_.data() + pos_));
  pos_ += 8;
  return v;
}

uint16_t Reader::read_uint16() { return uint16_t(read_int16()); }
uint32_t Reader::read_uint32() { return uint32_t(read_int32()); }

double Reader::read_float64() {
  uint64_t bits = uint64_t(read_int64());
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

bool Reader::read_bool() { return read_int8() != 0; }

Uuid Reader::read_uuid() {
  Uuid u;
  if (!need(16)) return u;
  std::memcpy(u.bytes.data(), buf_.data() + pos_, 16);
  pos_ += 16;
  return u;
}

uint32_t Reader::read_uvarint() {
  uint32_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (!need(1)) return 0;
    uint8_t b = buf_[pos_++];
    if (i == 4 && (b & 0xf0) != 0) {  // more than 32 significant bits
      fail();
      return 0;
    }
    v |= uint32_t(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  fail();
  return 0;
}

int32_t Reader::read_varint() {
  uint32_t u = read_uvarint();
  return int32_t((u >> 1) ^ (~(u & 1) + 1));
}

uint64_t Reader::read_uvarlong() {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (!need(1)) return 0;
    uint8_t b = buf_[pos_++];
    if (i == 9 && (b & 0xfe) != 0) {  // more than 64 significant bits
      fail();
      return 0;
    }
    v |= uint64_t(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  fail();
  return 0;
}

int64_t Reader::read_varlong() {
  uint64_t u = read_uvarlong();
  return int64_t((u >> 1) ^ (~(u & 1) + 1));
}

int64_t Reader::read_len(bool compact, bool wide) {
  int64_t len;
  if (compact) {
    len = int64_t(read_uvarint()) - 1;
  } else {
    len = wide ? read_int32() : read_int16();
  }
  if (!ok_ || len < -1) {
    fail();
    return -2;
  }
  if (len > int64_t(remaining())) {
    fail();
    return -2;
  }
  return len;
}

std::optional<std::string> Reader::read_nullable_string(bool compact, bool nullable) {
  int64_t len = read_len(compact, false);
  if (len == -2) return std::nullopt;
  if (len == -1) {
    if (!nullable) fail();
    return std::nullopt;
  }
  if (len > int64_t(kMaxStringLen)) {
    fail();
    return std::nullopt;
  }
  std::string s(reinterpret_cast<const char*>(buf_.data() + pos_), size_t(len));
  pos_ += size_t(len);
  return s;
}

std::string Reader::read_string(bool compact) {
  auto s = read_nullable_string(compact, false);
  return s ? std::move(*s) : std::string();
}

std::optional<std::vector<uint8_t>> Reader::read_nullable_bytes(bool compact, bool nullable) {
  int64_t len = read_len(compact, true);
  if (len == -2) return std::nullopt;
  if (len == -1) {
    if (!nullable) fail();
    return std::nullopt;
  }
  std::vector<uint8_t> b(buf_.data() + pos_, buf_.data() + pos_ + len);
  pos_ += size_t(len);
  return b;
}

std::vector<uint8_t> Reader::read_bytes(bool compact) {
  auto b = read_nullable_bytes(compact, false);
  return b ? std::move(*b) : std::vector<uint8_t>();
}

int32_t Reader::read_array_len(bool compact, bool nullable) {
  int64_t len = read_len(compact, true);
  if (len == -2) return 0;
  if (len == -1 && !nullable) {
    fail();
    return 0;
  }
  return int32_t(len);
}

Records Reader::read_records(bool compact, bool nullable) {
  Records rec;
  int64_t len = read_len(compact, true);
  if (len == -2) return rec;
  if (len == -1) {
    if (!nullable) fail();
    rec.is_null = true;
    return rec;
  }
  rec.data = buf_.subspan(pos_, size_t(len));
  pos_ += size_t(len);
  return rec;
}

std::span<uint8_t> Reader::read_raw(size_t n) {
  if (!need(n)) return {};
  auto s = buf_.subspan(pos_, n);
  pos_ += n;
  return s;
}

void Reader::skip_tags() {
  uint32_t n = read_uvarint();
  // Each tagged field takes at least two bytes, so a hostile count ends the
  // loop as soon as the input runs out.
  for (uint32_t i = 0; i < n && ok_; ++i) {
    (void)read_uvarint();          // tag
    uint32_t size = read_uvarint();
    skip(size);
  }
}

Reader Reader::read_tagged_field(uint32_t& tag) {
  tag = read_uvarint();
  uint32_t size = read_uvarint();
  auto s = read_raw(size);
  Reader sub(s, depth_);
  if (!ok_) sub.fail();
  return sub;
}

// ---------------------------------------------------------------- Writer

void Writer::write_float64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  out_.append_be64(bits);
}

void Writer::write_uvarint(uint32_t v) {
  uint8_t b[5];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = uint8_t(v | 0x80);
    v >>= 7;
  }
  b[n++] = uint8_t(v);
  out_.append(b, n);
}

void Writer::write_varint(int32_t v) {
  write_uvarint((uint32_t(v) << 1) ^ uint32_t(v >> 31));
}

void Writer::write_uvarlong(uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = uint8_t(v | 0x80);
    v >>= 7;
  }
  b[n++] = uint8_t(v);
  out_.append(b, n);
}

void Writer::write_varlong(int64_t v) {
  write_uvarlong((uint64_t(v) << 1) ^ uint64_t(v >> 63));
}

void Writer::write_string(std::string_view s, bool compact) {
  if (compact) {
    write_uvarint(uint32_t(s.size() + 1));
  } else {
    write_int16(int16_t(s.size()));
  }
  out_.append(s.data(), s.size());
}

void Writer::write_nullable_string(const std::optional<std::string>& s, bool compact,
                                   bool nullable) {
  if (s) {
    write_string(*s, compact);
  } else if (!nullable) {
    write_string({}, compact);
  } else if (compact) {
    write_uvarint(0);
  } else {
    write_int16(-1);
  }
}

void Writer::write_bytes(std::span<const uint8_t> b, bool compact) {
  if (compact) {
    write_uvarint(uint32_t(b.size() + 1));
  } else {
    write_int32(int32_t(b.size()));
  }
  out_.append(b);
}

void Writer::write_nullable_bytes(const std::optional<std::vector<uint8_t>>& b, bool compact,
                                  bool nullable) {
  if (b) {
    write_bytes(*b, compact);
  } else if (!nullable) {
    write_bytes({}, compact);
  } else if (compact) {
    write_uvarint(0);
  } else {
    write_int32(-1);
  }
}

void Writer::write_array_len(int32_t n, bool compact) {
  if (compact) {
    write_uvarint(n < 0 ? 0 : uint32_t(n) + 1);
  } else {
    write_int32(n < 0 ? -1 : n);
  }
}

void Writer::write_records(const Records& r, bool compact, bool nullable) {
  if (r.is_null && nullable) {
    if (compact) {
      write_uvarint(0);
    } else {
      write_int32(-1);
    }
    return;
  }
  size_t total = r.is_null ? 0 : r.total_size();
  if (compact) {
    write_uvarint(uint32_t(total + 1));
  } else {
    write_int32(int32_t(total));
  }
  if (r.is_null) return;
  out_.append(r.data.data(), r.data.size());
  out_.append(r.mem.data(), r.mem.size());
  for (const auto& s : r.slices) out_.append_file(s);
}

void Writer::write_tagged_field(uint32_t tag, OutBuffer&& value) {
  write_uvarint(tag);
  write_uvarint(uint32_t(value.size()));
  out_.append_buffer(std::move(value));
}

}  // namespace wharf::kafka
