// Reader: a bounds-checked cursor over the payload of one AMQP frame. The
// generated method and property decoders (generated/) are written entirely in
// terms of it.
//
// AMQP 0-9-1 data types (all integers big-endian, unsigned):
//   octet 1 byte   short 2   long 4   longlong 8   timestamp 8 (seconds)
//   shortstr   octet length, then up to 255 bytes
//   longstr    long length, then bytes (binary-safe)
//   table      long byte size, then entries (see field_table.h)
//   bit        packed into octets by the generated code, not read here
//
// Error model (as the Kafka Reader, no exceptions): the first failure sets a
// sticky error; afterwards ok() is false, error() names the cause, and every
// read returns a zero value without touching the buffer. Reads never go out of
// bounds, and nothing is allocated that the remaining input cannot justify
// (a length larger than the bytes left is rejected before allocating).
//
// Ownership: a Reader borrows its span; spans it returns (read_raw, rest)
// point into the same buffer and live as long as that buffer.
// Thread rules: none; one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "amqp/protocol/field_table.h"

namespace wharf::amqp {

class Reader {
 public:
  // Deepest nesting of tables/arrays accepted (the outermost table is level
  // 1). Real headers nest a few levels (x-death: table > array > table).
  static constexpr int kMaxDepth = 32;

  Reader() = default;
  explicit Reader(std::span<const uint8_t> buf) : buf_(buf) {}
  // A Reader over a temporary vector would dangle at the end of the statement.
  explicit Reader(std::vector<uint8_t>&&) = delete;

  bool ok() const { return error_ == nullptr; }
  // Why the first failure happened ("truncated", "unknown field type", ...);
  // nullptr while ok(). Points to a string literal.
  const char* error() const { return error_; }
  // Marks the input malformed; keeps the first reason.
  void fail(const char* why);

  size_t position() const { return pos_; }
  size_t remaining() const { return buf_.size() - pos_; }
  bool at_end() const { return pos_ == buf_.size(); }
  // The unread part of the buffer (empty after an error).
  std::span<const uint8_t> rest() const { return buf_.subspan(pos_); }

  uint8_t read_octet();
  uint16_t read_short();
  uint32_t read_long();
  uint64_t read_longlong();
  uint64_t read_timestamp() { return read_longlong(); }
  std::string read_shortstr();
  std::string read_longstr();

  // A field table (long byte size, then entries). Entries must fill the size
  // exactly; unknown tags and nesting deeper than kMaxDepth fail.
  FieldTable read_table();
  // A field array (long byte size, then tagged values).
  FieldArray read_array();
  // One tag octet followed by its value.
  FieldValue read_field_value();

  // A view of the next n bytes (fails if n > remaining()).
  std::span<const uint8_t> read_raw(size_t n);
  void skip(size_t n) { (void)read_raw(n); }

 private:
  bool need(size_t n) {
    if (!ok()) return false;
    if (n > buf_.size() - pos_) {
      fail("truncated");
      return false;
    }
    return true;
  }
  FieldValue read_value_of(uint8_t tag);
  // Reads a long length and checks it fits the remaining input; returns
  // false (after fail()) otherwise.
  bool read_len32(uint32_t& n);

  std::span<const uint8_t> buf_;
  size_t pos_ = 0;
  const char* error_ = nullptr;
  int depth_ = 0;
};

}  // namespace wharf::amqp
