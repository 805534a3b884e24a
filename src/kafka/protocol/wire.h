// Kafka wire primitives: a bounds-checked Reader over a request buffer and a
// Writer that appends into an OutBuffer. The generated message structs in
// generated/ are written entirely in terms of these two classes.
//
// Encodings (all integers big-endian):
//   string          int16 length, then bytes; -1 = null (nullable only)
//   compact string  uvarint (length + 1), then bytes; 0 = null
//   bytes           int32 length, then bytes; -1 = null
//   compact bytes   uvarint (length + 1); 0 = null
//   array           int32 count; -1 = null       compact: uvarint (count + 1); 0 = null
//   records         like bytes (int32 / compact uvarint) — see Records below
//   tagged fields   uvarint count, then per field: uvarint tag, uvarint size, value
//
// Error model (Envoy style, no exceptions): every Reader failure sets a sticky
// error flag. Once set, ok() is false and every read returns a zero value
// without touching the buffer. Reads never go out of bounds and never allocate
// more than the remaining input can justify (a length larger than the bytes
// left is rejected before allocating).
//
// Ownership: a Reader borrows its span; spans it hands out (Records::data,
// rest()) point into the same buffer and live as long as that buffer.
// Thread rules: none; a Reader/Writer is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_slice.h"
#include "base/out_buffer.h"

namespace wharf::kafka {

struct Uuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
  bool is_zero() const { return *this == Uuid{}; }
};

// The value of a `records` field (a Kafka record-batch blob).
//
// Decode (Produce request): `data` is a mutable view into the request buffer so
// the broker can patch base offsets / timestamps in place without copying.
// `is_null` is true when the wire length was -1 (or 0 for compact).
//
// Encode (Fetch response): the length prefix is total_size() =
//   data.size() + mem.size() + sum(slices[i].len)
// and the payload is written in that order: `data` bytes, then `mem` bytes
// (both copied into the OutBuffer), then each FileSlice appended with
// OutBuffer::append_file so stored batches go out via sendfile() with zero copy.
// A null Records (is_null) is written as -1 (compact: 0) when the field is
// nullable in that version, else as an empty blob.
struct Records {
  std::span<uint8_t> data;
  bool is_null = false;
  std::vector<uint8_t> mem;
  std::vector<FileSlice> slices;

  size_t total_size() const;
  bool empty() const { return total_size() == 0; }
  // Compares null-ness, byte contents of data/mem and the identity
  // (fd, pos, len) of slices.
  bool operator==(const Records& o) const;
};

class Reader {
 public:
  static constexpr int kMaxDepth = 32;   // nested struct depth sanity limit
  static constexpr uint32_t kMaxStringLen = 0x7fff;

  Reader() = default;
  explicit Reader(std::span<uint8_t> buf, int depth = 0) : buf_(buf), depth_(depth) {}

  bool ok() const { return ok_; }
  void fail() { ok_ = false; pos_ = buf_.size(); }
  size_t position() const { return pos_; }
  size_t remaining() const { return buf_.size() - pos_; }
  bool at_end() const { return pos_ == buf_.size(); }
  // The unread part of the buffer (empty after an error).
  std::span<uint8_t> rest() const { return buf_.subspan(pos_); }

  int8_t read_int8();
  int16_t read_int16();
  int32_t read_int32();
  int64_t read_int64();
  uint16_t read_uint16();
  uint32_t read_uint32();
  double read_float64();
  bool read_bool();  // any non-zero byte is true
  Uuid read_uuid();

  uint32_t read_uvarint();    // at most 5 bytes, must fit 32 bits
  int32_t read_varint();      // zigzag
  uint64_t read_uvarlong();   // at most 10 bytes
  int64_t read_varlong();     // zigzag

  // Strings: compact selects the compact (uvarint) encoding. read_string fails
  // on a null; read_nullable_string fails on a null only if !nullable.
  std::string read_string(bool compact = false);
  std::optional<std::string> read_nullable_string(bool compact = false, bool nullable = true);
  std::string read_compact_string() { return read_string(true); }
  std::optional<std::string> read_compact_nullable_string() { return read_nullable_string(true); }

  std::vector<uint8_t> read_bytes(bool compact = false);
  std::optional<std::vector<uint8_t>> read_nullable_bytes(bool compact = false, bool nullable = true);
  std::vector<uint8_t> read_compact_bytes() { return read_bytes(true); }

  // Array element count; -1 means null (only returned when nullable, else it
  // is an error). A count larger than remaining() is an error (each element
  // takes at least one byte).
  int32_t read_array_len(bool compact = false, bool nullable = false);
  int32_t read_compact_array_len(bool nullable = false) { return read_array_len(true, nullable); }

  // Records: a view into the buffer (no copy).
  Records read_records(bool compact = false, bool nullable = true);

  // Raw bytes view of length n (fails if n > remaining()).
  std::span<uint8_t> read_raw(size_t n);
  void skip(size_t n) { (void)read_raw(n); }

  // Tagged fields. skip_tags() reads and discards a whole tagged-field
  // section. read_tagged_field() reads one tag header, returns a Reader over
  // exactly the field's value and advances this Reader past it.
  void skip_tags();
  Reader read_tagged_field(uint32_t& tag);

  // RAII depth guard used by generated nested decoders.
  class Nest {
   public:
    explicit Nest(Reader& r) : r_(r) { if (++r_.depth_ > kMaxDepth) r_.fail(); }
    ~Nest() { --r_.depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
   private:
    Reader& r_;
  };

 private:
  bool need(size_t n) {
    if (!ok_ || n > buf_.size() - pos_) { fail(); return false; }
    return true;
  }
  // Reads a length: classic int16/int32 or compact uvarint-1. Returns -1 for
  // null, -2 after an error.
  int64_t read_len(bool compact, bool wide);

  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  bool ok_ = true;
  int depth_ = 0;
};

class Writer {
 public:
  explicit Writer(OutBuffer& out) : out_(out) {}

  OutBuffer& out() { return out_; }
  size_t size() const { return out_.size(); }

  void write_int8(int8_t v) { out_.append_u8(uint8_t(v)); }
  void write_int16(int16_t v) { out_.append_be16(uint16_t(v)); }
  void write_int32(int32_t v) { out_.append_be32(uint32_t(v)); }
  void write_int64(int64_t v) { out_.append_be64(uint64_t(v)); }
  void write_uint16(uint16_t v) { out_.append_be16(v); }
  void write_uint32(uint32_t v) { out_.append_be32(v); }
  void write_float64(double v);
  void write_bool(bool v) { out_.append_u8(v ? 1 : 0); }
  void write_uuid(const Uuid& u) { out_.append(u.bytes.data(), u.bytes.size()); }

  void write_uvarint(uint32_t v);
  void write_varint(int32_t v);
  void write_uvarlong(uint64_t v);
  void write_varlong(int64_t v);

  void write_string(std::string_view s, bool compact = false);
  // Writes null when !s; if !nullable a missing value is written as "".
  void write_nullable_string(const std::optional<std::string>& s, bool compact = false,
                             bool nullable = true);
  void write_compact_string(std::string_view s) { write_string(s, true); }
  void write_compact_nullable_string(const std::optional<std::string>& s) {
    write_nullable_string(s, true);
  }

  void write_bytes(std::span<const uint8_t> b, bool compact = false);
  void write_nullable_bytes(const std::optional<std::vector<uint8_t>>& b, bool compact = false,
                            bool nullable = true);
  void write_compact_bytes(std::span<const uint8_t> b) { write_bytes(b, true); }

  // n == -1 writes a null array.
  void write_array_len(int32_t n, bool compact = false);
  void write_compact_array_len(int32_t n) { write_array_len(n, true); }

  void write_records(const Records& r, bool compact = false, bool nullable = true);

  void write_raw(std::span<const uint8_t> b) { out_.append(b); }

  // Tagged fields: an empty section, or one field whose value was encoded into
  // `value` (a separate OutBuffer, memory only).
  void write_empty_tags() { write_uvarint(0); }
  void write_tagged_field(uint32_t tag, OutBuffer&& value);

 private:
  OutBuffer& out_;
};

}  // namespace wharf::kafka
