// Writer: appends AMQP 0-9-1 data types to an OutBuffer (see reader.h for
// the encodings). The generated encoders are written in terms of it.
//
// A value that does not fit its wire type (a short string over 255 bytes, a
// long string, table or array over 4 GiB - 1) cannot be represented. The
// Writer then writes a well-formed but truncated value (the first 255 bytes
// of a short string) and clears ok(); callers that build frames check ok()
// and treat the frame as unsendable. This never happens for values that came
// from a decoder.
//
// Thread rules: none; one thread at a time. The OutBuffer must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "amqp/protocol/field_table.h"
#include "base/out_buffer.h"

namespace wharf::amqp {

class Writer {
 public:
  static constexpr size_t kMaxShortStr = 255;

  explicit Writer(OutBuffer& out) : out_(out) {}

  OutBuffer& out() { return out_; }
  size_t size() const { return out_.size(); }
  // False once a value did not fit its wire type (see above).
  bool ok() const { return ok_; }

  void write_octet(uint8_t v) { out_.append_u8(v); }
  void write_short(uint16_t v) { out_.append_be16(v); }
  void write_long(uint32_t v) { out_.append_be32(v); }
  void write_longlong(uint64_t v) { out_.append_be64(v); }
  void write_timestamp(uint64_t v) { out_.append_be64(v); }
  void write_shortstr(std::string_view s);
  void write_longstr(std::string_view s);
  void write_longstr(std::span<const uint8_t> b);

  void write_table(const FieldTable& t);
  void write_array(const FieldArray& a);
  // Tag octet, then the value.
  void write_field_value(const FieldValue& v);

  void write_raw(std::span<const uint8_t> b) { out_.append(b); }

  // A long written now and filled in later: the byte size of a table or
  // array, or of a frame payload. Filling is O(1): the slot is found by its
  // chunk index and offset rather than by walking the OutBuffer, so a buffer
  // already holding many frames and file slices costs nothing extra.
  // REQUIRES: only this Writer appends to the OutBuffer between reserve and
  // fill (a Writer appends memory only, so the slot's chunk stays put).
  struct LongSlot {
    size_t chunk;   // index of the memory chunk holding the slot
    size_t offset;  // offset of the slot in that chunk
    size_t end;     // out.size() just after the slot
  };
  LongSlot reserve_long();
  // Bytes written after the slot so far.
  size_t bytes_since(const LongSlot& s) const { return out_.size() - s.end; }
  void fill_long(const LongSlot& s, uint32_t v);

 private:
  void write_value_of(const FieldValue& v);
  // Fills the slot with bytes_since(s); clears ok() if that exceeds 32 bits.
  void fill_size(const LongSlot& s);

  OutBuffer& out_;
  bool ok_ = true;
};

}  // namespace wharf::amqp
