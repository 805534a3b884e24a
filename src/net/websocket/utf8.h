// Utf8Validator: checks that a byte stream is well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), fed in pieces
// that may split a character anywhere. RFC 6455 requires it for text
// messages (a fragmented message is checked across its frames) and close
// reasons; the server also uses it to choose text or binary frames.
//
// Thread rules: none (a value type).
#pragma once

#include <cstdint>
#include <span>

namespace wharf::net::websocket {

class Utf8Validator {
 public:
  // Feeds more bytes; false once the stream seen so far can no longer be
  // valid (and forever after, until reset()).
  bool feed(std::span<const uint8_t> bytes);
  // True when everything fed so far is valid and ends on a character boundary.
  bool complete() const { return !failed_ && needed_ == 0; }
  void reset() { *this = Utf8Validator(); }

 private:
  uint8_t needed_ = 0;  // continuation bytes still expected for the current character
  uint8_t lower_ = 0x80, upper_ = 0xBF;  // allowed range of the next continuation byte
  bool failed_ = false;
};

// The whole of `bytes` is valid UTF-8.
bool is_valid_utf8(std::span<const uint8_t> bytes);

}  // namespace wharf::net::websocket
