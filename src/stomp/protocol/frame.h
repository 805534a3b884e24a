// STOMP frame layout (STOMP 1.0, 1.1 and 1.2 specifications, "Frames").
//
//   COMMAND EOL
//   (name ":" value EOL)*      header lines, in order, duplicates allowed
//   EOL                        empty line ends the headers
//   body                       content-length octets if that header is
//                              present (NULs allowed), else up to the NUL
//   NUL
//   (EOL)*                     heart-beats between frames
//
// EOL is LF; STOMP 1.2 also allows CRLF. Header escaping depends on the
// negotiated version (see frame_parser.h). When a header repeats, STOMP 1.2
// says only the FIRST occurrence counts; later ones are kept here so the
// frame round-trips, but header() returns the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wharf::stomp {

enum class Version : uint8_t { k1_0, k1_1, k1_2 };

std::string_view version_name(Version v);  // "1.0", "1.1", "1.2"

struct Frame {
  std::string command;
  std::vector<std::pair<std::string, std::string>> headers;  // wire order
  std::string body;                                          // raw octets

  // The value of the first header named `name`, if any.
  std::optional<std::string_view> header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return std::string_view(v);
    }
    return std::nullopt;
  }
};

// CONNECT, STOMP and CONNECTED headers are never escaped: they are exchanged
// before the version is known (1.2 spec, "Value Encoding").
inline bool is_handshake_command(std::string_view c) {
  return c == "CONNECT" || c == "STOMP" || c == "CONNECTED";
}

// Client and server commands of all three versions (STOMP is 1.1+, NACK 1.1+;
// the session, not the codec, rejects a command its version lacks).
inline bool is_known_command(std::string_view c) {
  static constexpr std::string_view kCommands[] = {
      "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "BEGIN", "COMMIT", "ABORT",
      "ACK", "NACK", "DISCONNECT", "CONNECTED", "MESSAGE", "RECEIPT", "ERROR"};
  for (std::string_view k : kCommands) {
    if (k == c) return true;
  }
  return false;
}

}  // namespace wharf::stomp
