#include "net/websocket/handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace wharf::net::websocket {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 section 1.3
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(p[i]) << 16;
    if (i + 1 < n) v |= uint32_t(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kB64[v & 63] : '=';
  }
  return out;
}

// RFC 6455 4.1: the key is 16 random bytes, base64-encoded: 22 characters
// of the alphabet, the last of which encodes only 2 bits, then "==".
bool valid_key(std::string_view k) {
  if (k.size() != 24 || k.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    auto pos = kB64.find(k[i]);
    if (pos == std::string_view::npos) return false;
    if (i == 21 && (pos & 0x0F) != 0) return false;
  }
  return true;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (header names).
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// Comma-separated list elements, trimmed, empty ones dropped.
std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> out;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

bool list_has(std::string_view list, std::string_view token) {
  for (auto t : split_list(list)) {
    if (iequals(t, token)) return true;
  }
  return false;
}

std::string_view status_text(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::string accept_key(std::string_view key) {
  std::string in(key);
  in += kGuid;
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha1(), nullptr);
  return base64(md, len);
}

std::string negotiate_subprotocol(const std::vector<std::string>& offered, const std::vector<std::string>& supported) {
  for (const auto& s : supported) {
    if (std::find(offered.begin(), offered.end(), s) != offered.end()) return s;
  }
  return {};
}

HandshakeParser::Status HandshakeParser::reject(int status, std::string message) {
  rejection_ = HttpRejection{status, std::move(message), {}};
  return Status::kRejected;
}

HandshakeParser::Status HandshakeParser::feed(std::span<const uint8_t> in, const HandshakePolicy& policy,
                                              size_t* consumed) {
  *consumed = 0;
  std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  // Resume 3 bytes back: the terminator may straddle the previous end.
  const size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
  const size_t end = text.find("\r\n\r\n", std::min(from, text.size()));
  if (end == std::string_view::npos) {
    scanned_ = text.size();
    if (text.size() > max_bytes_) {
      return reject(431, "request head longer than " + std::to_string(max_bytes_) + " bytes");
    }
    return Status::kIncomplete;
  }
  const size_t head_len = end + 4;
  if (head_len > max_bytes_) return reject(431, "request head longer than " + std::to_string(max_bytes_) + " bytes");
  Status st = parse(text.substr(0, end + 2), policy);  // every line with its CRLF
  if (st == Status::kAccepted) *consumed = head_len;
  return st;
}

HandshakeParser::Status HandshakeParser::parse(std::string_view head, const HandshakePolicy& policy) {
  auto next_line = [&head]() {
    auto eol = head.find("\r\n");  // found: `head` always ends with CRLF
    auto line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    return line;
  };

  // Request line: method SP request-target SP HTTP-version.
  std::string_view line = next_line();
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return reject(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '1' || version[7] > '9') {
    return reject(400, "a WebSocket handshake needs HTTP/1.1");
  }
  if (method != "GET") {
    HttpRejection r{405, "a WebSocket handshake is a GET request", {{"Allow", "GET"}}};
    rejection_ = std::move(r);
    return Status::kRejected;
  }
  if (target.empty() || target[0] != '/') return reject(400, "the request target must be a path");

  std::string host, upgrade, connection, version_hdr, key, protocols, origin;
  int hosts = 0, keys = 0;
  while (!head.empty()) {
    line = next_line();
    if (line.front() == ' ' || line.front() == '\t') return reject(400, "folded header lines are not allowed");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return reject(400, "malformed header line");
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar)) return reject(400, "malformed header name");
    std::string_view value = trim(line.substr(colon + 1));
    // Repeated list headers combine as if comma-joined (RFC 9110 5.3).
    auto add = [value](std::string& to) {
      if (!to.empty()) to += ", ";
      to += value;
    };
    if (iequals(name, "host")) { host = value; ++hosts; }
    else if (iequals(name, "upgrade")) add(upgrade);
    else if (iequals(name, "connection")) add(connection);
    else if (iequals(name, "sec-websocket-version")) add(version_hdr);
    else if (iequals(name, "sec-websocket-key")) { key = value; ++keys; }
    else if (iequals(name, "sec-websocket-protocol")) add(protocols);
    else if (iequals(name, "origin")) origin = value;
  }

  request_ = UpgradeRequest{};
  request_.target = target;
  request_.path = target.substr(0, target.find('?'));
  if (request_.path != policy.path) {
    return reject(404, "no WebSocket endpoint at " + request_.path + " (it is at " + policy.path + ")");
  }
  if (!list_has(upgrade, "websocket")) {
    rejection_ = HttpRejection{426, "this is a WebSocket endpoint: send a GET with Upgrade: websocket",
                               {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}}};
    return Status::kRejected;
  }
  if (!list_has(connection, "upgrade")) return reject(400, "Connection header must include Upgrade");
  if (hosts != 1) return reject(400, "exactly one Host header is required");
  if (version_hdr != "13") {
    rejection_ = HttpRejection{426, "unsupported Sec-WebSocket-Version '" + version_hdr + "': only 13 is spoken",
                               {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}}};
    return Status::kRejected;
  }
  if (keys != 1 || !valid_key(key)) return reject(400, "Sec-WebSocket-Key must be one base64-encoded 16-byte value");

  for (auto p : split_list(protocols)) request_.offered_protocols.emplace_back(p);
  if (!policy.subprotocols.empty()) {
    request_.protocol = negotiate_subprotocol(request_.offered_protocols, policy.subprotocols);
    if (request_.protocol.empty() && !request_.offered_protocols.empty()) {
      return reject(400, "none of the offered subprotocols (" + join(request_.offered_protocols) +
                             ") is supported; supported: " + join(policy.subprotocols));
    }
  }
  request_.host = host;
  request_.origin = origin;
  request_.key = key;
  return Status::kAccepted;
}

std::string render_accept(const UpgradeRequest& req) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + accept_key(req.key) + "\r\n";
  if (!req.protocol.empty()) out += "Sec-WebSocket-Protocol: " + req.protocol + "\r\n";
  out += "\r\n";
  return out;
}

std::string render_rejection(const HttpRejection& r) {
  std::string body = r.message + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(status_text(r.status)) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace wharf::net::websocket
