#include "stomp/protocol/frame_parser.h"

#include <cstring>
#include <string>

namespace wharf::stomp {

std::string_view version_name(Version v) {
  switch (v) {
    case Version::k1_0: return "1.0";
    case Version::k1_1: return "1.1";
    case Version::k1_2: return "1.2";
  }
  return "?";
}

std::string_view parse_error_name(ParseError::Kind k) {
  switch (k) {
    case ParseError::kUnknownCommand: return "unknown command";
    case ParseError::kBadEol: return "bad end of line";
    case ParseError::kMalformedHeader: return "malformed header";
    case ParseError::kBadEscape: return "bad header escape";
    case ParseError::kBadContentLength: return "bad content-length";
    case ParseError::kMissingNul: return "missing NUL after body";
    case ParseError::kHeaderLineTooLong: return "header line too long";
    case ParseError::kTooManyHeaders: return "too many headers";
    case ParseError::kBodyTooLarge: return "body too large";
  }
  return "?";
}

Error ParseError::to_error() const {
  return make_error(is_limit() ? Errc::kMessageTooLarge : Errc::kInvalidArgument, message);
}

namespace {

// Unescapes `in` per version into `out`. Returns the index in `in` of a bad
// escape, or npos when all is well.
size_t unescape(std::string_view in, Version v, std::string& out) {
  out.clear();
  if (in.find('\\') == std::string_view::npos) {  // the common case: nothing escaped
    out.assign(in);
    return std::string_view::npos;
  }
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 == in.size()) return i;
    char e = in[++i];
    if (e == 'n') out.push_back('\n');
    else if (e == 'c') out.push_back(':');
    else if (e == '\\') out.push_back('\\');
    else if (e == 'r' && v == Version::k1_2) out.push_back('\r');
    else return i - 1;
  }
  return std::string_view::npos;
}

// Peer bytes quoted in an error message: the message becomes an ERROR
// frame's header, which must be UTF-8 text, so anything but printable ASCII
// is shown as \xNN.
std::string printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(char(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

void FrameParser::feed(std::span<const uint8_t> bytes) {
  buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void FrameParser::consume(size_t n) {
  start_ += n;
  consumed_ += n;
  nul_scan_from_ = 0;
  // Compact once the dead prefix dominates, so memory stays proportional to
  // the frame in progress.
  if (start_ > 4096 && start_ * 2 > buf_.size()) {
    buf_.erase(0, start_);
    start_ = 0;
  }
}

FrameParse FrameParser::fail(ParseError::Kind kind, size_t at, std::string message) {
  failed_ = true;
  error_.kind = kind;
  error_.offset = consumed_ + at;
  error_.message = std::string(parse_error_name(kind)) + " at byte " + std::to_string(error_.offset) +
                   (message.empty() ? "" : ": " + message);
  FrameParse p;
  p.status = FrameParse::kError;
  p.error = error_;
  return p;
}

FrameParse FrameParser::next() {
  if (failed_) {
    FrameParse p;
    p.status = FrameParse::kError;
    p.error = error_;
    return p;
  }
  // Heart-beats: EOLs before a command.
  for (;;) {
    std::string_view rest(buf_.data() + start_, buf_.size() - start_);
    if (rest.empty()) return {};
    if (rest[0] == '\n') {
      consume(1);
    } else if (rest[0] == '\r') {
      if (rest.size() < 2) return {};
      if (rest[1] != '\n') return fail(ParseError::kBadEol, 1, "CR not followed by LF");
      consume(2);
    } else {
      break;
    }
  }

  // All offsets below are relative to the frame start.
  const std::string_view in(buf_.data() + start_, buf_.size() - start_);
  const size_t max_line = limits_.max_header_line;
  Frame f;
  size_t pos = 0;

  // Finds the line starting at pos. Returns false when more bytes are needed
  // (or sets `err`); otherwise the line content in *line and the next pos.
  FrameParse err;
  bool errored = false;
  auto read_line = [&](bool allow_cr, std::string_view* line, size_t* next) -> bool {
    const size_t avail = in.size() - pos;
    const size_t look = std::min(avail, max_line + 2);  // content + CRLF
    const void* nl = std::memchr(in.data() + pos, '\n', look);
    if (nl == nullptr) {
      if (avail > max_line + 1) {
        err = fail(ParseError::kHeaderLineTooLong, pos + max_line,
                   "limit " + std::to_string(max_line) + " octets");
        errored = true;
      }
      return false;
    }
    size_t end = static_cast<const char*>(nl) - in.data();
    *next = end + 1;
    if (allow_cr && end > pos && in[end - 1] == '\r') --end;
    if (end - pos > max_line) {
      err = fail(ParseError::kHeaderLineTooLong, pos + max_line, "limit " + std::to_string(max_line) + " octets");
      errored = true;
      return false;
    }
    *line = in.substr(pos, end - pos);
    return true;
  };

  std::string_view line;
  size_t next_pos = 0;
  if (!read_line(true, &line, &next_pos)) return errored ? err : FrameParse{};
  if (!is_known_command(line)) {
    return fail(ParseError::kUnknownCommand, 0, "'" + printable(line.substr(0, 64)) + "'");
  }
  f.command = std::string(line);
  pos = next_pos;

  const bool handshake = is_handshake_command(f.command);
  const bool crlf = handshake || version_ == Version::k1_2;
  const bool escaped = !handshake && version_ != Version::k1_0;
  for (;;) {
    if (!read_line(crlf, &line, &next_pos)) return errored ? err : FrameParse{};
    // A lone CR also ends the headers: a 1.0/1.1 peer that sends CRLF lines
    // cannot mean a header named "\r".
    if (line.empty() || line == "\r") {
      pos = next_pos;
      break;
    }
    if (f.headers.size() == limits_.max_headers) {
      return fail(ParseError::kTooManyHeaders, pos, "limit " + std::to_string(limits_.max_headers));
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(ParseError::kMalformedHeader, pos, "no ':'");
    std::string name, value;
    if (escaped) {
      size_t bad = unescape(line.substr(0, colon), version_, name);
      if (bad != std::string_view::npos) return fail(ParseError::kBadEscape, pos + bad, "in header name");
      bad = unescape(line.substr(colon + 1), version_, value);
      if (bad != std::string_view::npos) return fail(ParseError::kBadEscape, pos + colon + 1 + bad, "in header value");
    } else {
      name = std::string(line.substr(0, colon));
      value = std::string(line.substr(colon + 1));
    }
    f.headers.emplace_back(std::move(name), std::move(value));
    pos = next_pos;
  }

  const size_t body_start = pos;
  if (auto cl = f.header("content-length")) {
    if (cl->empty() || cl->size() > 19 || cl->find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(ParseError::kBadContentLength, body_start, "'" + printable(cl->substr(0, 32)) + "'");
    }
    const uint64_t len = std::stoull(std::string(*cl));
    if (len > limits_.max_body) {
      return fail(ParseError::kBodyTooLarge, body_start,
                  "content-length " + std::to_string(len) + " > limit " + std::to_string(limits_.max_body));
    }
    if (in.size() - body_start < len + 1) return {};
    if (in[body_start + len] != '\0') return fail(ParseError::kMissingNul, body_start + len, "after content-length octets");
    f.body.assign(in.data() + body_start, len);
    consume(body_start + len + 1);
  } else {
    const size_t avail = in.size() - body_start;
    const size_t look = std::min(avail, limits_.max_body + 1);
    const size_t from = std::min(nul_scan_from_, look);
    const void* nul = std::memchr(in.data() + body_start + from, '\0', look - from);
    if (nul == nullptr) {
      if (avail > limits_.max_body) {
        return fail(ParseError::kBodyTooLarge, body_start + limits_.max_body,
                    "no NUL within limit " + std::to_string(limits_.max_body));
      }
      nul_scan_from_ = look;
      return {};
    }
    const size_t len = static_cast<const char*>(nul) - (in.data() + body_start);
    f.body.assign(in.data() + body_start, len);
    consume(body_start + len + 1);
  }
  FrameParse p;
  p.status = FrameParse::kFrame;
  p.frame = std::move(f);
  return p;
}

}  // namespace wharf::stomp
