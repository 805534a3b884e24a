// The opening handshake (RFC 6455 section 4.2): parsing the client's HTTP/1.1
// GET upgrade request, checking it, choosing a subprotocol, and the server's
// answer: "101 Switching Protocols" or an HTTP error that says what was wrong.
//
// Parsing is incremental and bounded: HandshakeParser::feed() is given all
// unconsumed input each time; it remembers how far it has scanned for the
// blank line that ends the request head, so a head arriving byte by byte
// costs linear time, and fails with 431 once `max_bytes` pass without one.
//
// Thread rules: none (value types and pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wharf::net::websocket {

// What the client asked for, once the request passed every check.
struct UpgradeRequest {
  std::string target;  // the request target as sent ("/ws?x=1")
  std::string path;    // the target up to '?' ("/ws")
  std::string host;    // Host
  std::string origin;  // Origin (browsers send it), or empty
  std::string key;     // Sec-WebSocket-Key
  std::vector<std::string> offered_protocols;  // Sec-WebSocket-Protocol tokens, the client's order
  std::string protocol;  // the subprotocol chosen (negotiate_subprotocol), or empty for none
};

// An HTTP error answer: the request is refused and the connection closed.
struct HttpRejection {
  int status = 400;
  std::string message;  // plain-text body: why
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// What the server accepts.
struct HandshakePolicy {
  std::string path = "/ws";
  // Subprotocols the server speaks, most preferred first. The first of these
  // the client offers is chosen. When the client offers protocols and none of
  // them is here, the request is refused (400): a browser would fail a
  // connection whose answer names no protocol after offering some anyway.
  std::vector<std::string> subprotocols;
};

class HandshakeParser {
 public:
  enum class Status : uint8_t { kIncomplete, kAccepted, kRejected };

  explicit HandshakeParser(size_t max_bytes) : max_bytes_(max_bytes) {}

  // `in` is all unconsumed input (the same prefix grows between calls). On
  // kAccepted, *consumed is the length of the request head (bytes after it
  // are already WebSocket frames) and request() is filled, protocol chosen.
  // On kRejected, rejection() says what to answer. kIncomplete consumes
  // nothing.
  Status feed(std::span<const uint8_t> in, const HandshakePolicy& policy, size_t* consumed);

  const UpgradeRequest& request() const { return request_; }
  const HttpRejection& rejection() const { return rejection_; }

 private:
  Status reject(int status, std::string message);
  Status parse(std::string_view head, const HandshakePolicy& policy);

  size_t max_bytes_;
  size_t scanned_ = 0;  // bytes already searched for the end of the head
  UpgradeRequest request_;
  HttpRejection rejection_;
};

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key);

// The first of `supported` (server preference) that the client offered, or
// empty when none is.
std::string negotiate_subprotocol(const std::vector<std::string>& offered, const std::vector<std::string>& supported);

// The bytes of "101 Switching Protocols" for an accepted request.
std::string render_accept(const UpgradeRequest& req);
// The bytes of an error response (Connection: close; the body says why).
std::string render_rejection(const HttpRejection& r);

}  // namespace wharf::net::websocket
