// FrameParser: splits a STOMP byte stream (layout in frame.h) into frames.
//
// Stateful and incremental: feed() appends whatever bytes arrived (any split,
// even inside a CRLF), next() returns one of
//   kFrame     a whole frame, removed from the buffer
//   kNeedMore  no whole frame buffered yet
//   kError     the stream is invalid; `error` says why and at which stream
//              byte (0-based, counted from the first byte ever fed). The
//              session sends an ERROR frame and closes; the parser stays in
//              the error state (every later next() returns the same error).
// Heart-beat EOLs (LF or CRLF) between frames are skipped; the session
// measures liveness by bytes received, not by frames.
//
// Rules by version (set_version() after CONNECT negotiation; 1.0 before):
//   EOL        LF everywhere; a line holding only CR always ends the headers. CRLF is accepted on command lines, on every line
//              of CONNECT/STOMP/CONNECTED (sent before the version is known)
//              and on every line in 1.2. In 1.0/1.1 other header lines keep a
//              trailing CR as part of the value.
//   escaping   1.0 none; 1.1 \n \c \\ ; 1.2 also \r. Any other backslash
//              sequence is an error in 1.1/1.2. Handshake frames are never
//              unescaped. Names and values are both unescaped.
//   header     "name:value", split at the first ':'; a line without ':' is an
//              error. Nothing is trimmed.
//   body       content-length (first occurrence, decimal digits only) gives the
//              body size, and the next octet must be NUL; otherwise the body
//              runs to the first NUL.
// Limits (Limits below) are checked as soon as the bytes show them exceeded,
// so a hostile peer cannot make the parser buffer more than about
// max_header_line * (max_headers + 2) + max_body bytes.
//
// Cost: the buffered frame is rescanned on each next() after new bytes; the
// header part is bounded by the limits, and a NUL-terminated body resumes its
// NUL search where the last call stopped.
//
// Thread rules: one parser per connection, used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "stomp/protocol/frame.h"

namespace wharf::stomp {

struct Limits {
  size_t max_header_line = 8192;   // octets of one command or header line, EOL excluded
  size_t max_headers = 128;        // header lines per frame
  size_t max_body = 16 << 20;      // body octets
};

struct ParseError {
  enum Kind : uint8_t {
    kUnknownCommand,    // empty or not a STOMP command
    kBadEol,            // CR not followed by LF where an EOL must be
    kMalformedHeader,   // header line without ':'
    kBadEscape,         // undefined or truncated backslash escape (1.1/1.2)
    kBadContentLength,  // not a decimal number
    kMissingNul,        // octet after content-length octets is not NUL
    // Limits come last: is_limit() relies on this order.
    kHeaderLineTooLong, // limit max_header_line
    kTooManyHeaders,    // limit max_headers
    kBodyTooLarge,      // limit max_body
  };
  Kind kind = kUnknownCommand;
  uint64_t offset = 0;   // stream byte where the problem was detected
  std::string message;   // for the ERROR frame's message header and logs

  bool is_limit() const { return kind >= kHeaderLineTooLong; }
  // For code that speaks base errors: limits map to kMessageTooLarge,
  // everything else to kInvalidArgument.
  Error to_error() const;
};

std::string_view parse_error_name(ParseError::Kind k);

struct FrameParse {
  enum Status : uint8_t { kFrame, kNeedMore, kError };
  Status status = kNeedMore;
  Frame frame;        // kFrame only
  ParseError error;   // kError only
};

class FrameParser {
 public:
  explicit FrameParser(Limits limits = {}) : limits_(limits) {}

  void set_version(Version v) { version_ = v; }
  Version version() const { return version_; }
  const Limits& limits() const { return limits_; }

  void feed(std::span<const uint8_t> bytes);
  void feed(std::string_view bytes) { buf_.append(bytes); }

  FrameParse next();

  // Octets fed but not yet returned as frames or skipped as heart-beats.
  size_t buffered() const { return buf_.size() - start_; }

 private:
  FrameParse fail(ParseError::Kind kind, size_t at, std::string message);
  void consume(size_t n);

  Limits limits_;
  Version version_ = Version::k1_0;
  std::string buf_;
  size_t start_ = 0;           // first unconsumed octet of buf_
  uint64_t consumed_ = 0;      // stream offset of buf_[start_]
  size_t nul_scan_from_ = 0;   // body octets (from the body start) known to hold no NUL
  bool failed_ = false;
  ParseError error_;
};

}  // namespace wharf::stomp
