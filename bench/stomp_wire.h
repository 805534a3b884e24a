// STOMP 1.2 client framing for wharf-stomp-load: a frame reader that hands out
// views into its receive buffer, and helpers that append frames to a string.
//
// Why not src/stomp/protocol's FrameParser: it is the broker's parser, built to
// hold frames past the read (a std::string per header and for the body) and to
// enforce limits against hostile peers. A load client that must read well over
// a million MESSAGE frames a second on a core it shares with the broker cannot
// afford ~10 allocations per frame; this reader allocates nothing per frame.
//
// Frame layout (STOMP 1.2, "Augmented BNF"):
//   command EOL (header ":" value EOL)* EOL body NUL (EOL)*
// EOL is LF or CRLF. With a content-length header the body is exactly that
// many octets followed by NUL, otherwise it runs to the first NUL. EOLs
// between frames are heart-beats (ActiveMQ also ends every frame with one)
// and are skipped. Header values stay escaped (\c \n \r \\): the client only
// compares names, reads digits, or echoes a value back in a header of the
// same version (the `ack` id), for which the escaped form is the right one.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wharf_bench::stomp {

// One frame inside FrameReader's buffer; valid until the reader's next call.
struct FrameView {
  std::string_view command;
  std::string_view head;  // the header lines, each ending in LF (or CRLF)
  std::string_view body;

  // The raw (escaped) value of the first header named `name`; STOMP 1.2 says a
  // repeated header's first occurrence wins.
  std::optional<std::string_view> header(std::string_view name) const {
    std::string_view rest = head;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos && line.substr(0, colon) == name) return line.substr(colon + 1);
    }
    return std::nullopt;
  }
};

// Reads frames from a connected socket. One reader per socket, one thread.
class FrameReader {
 public:
  enum class Status { kFrame, kTimeout, kClosed, kMalformed, kTooLarge, kIoError };

  explicit FrameReader(int fd, size_t max_frame = 64u << 20) : fd_(fd), max_frame_(max_frame) {
    buf_.resize(1u << 20);
  }

  // Returns kFrame with `f` set, reading from the socket as needed. timeout_ms
  // bounds the wait for bytes (< 0: forever, 0: only what is already readable).
  // kMalformed/kTooLarge/kIoError/kClosed are final; `error` says more.
  Status next(FrameView& f, int timeout_ms) {
    for (;;) {
      long used = parse(f);
      if (used > 0) {
        begin_ += size_t(used);
        return Status::kFrame;
      }
      if (used < 0) return Status::kMalformed;
      // Need more bytes: make room after the partial frame.
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buf_.size()) {
        if (buf_.size() >= max_frame_) {
          error = "frame larger than " + std::to_string(max_frame_) + " bytes";
          return Status::kTooLarge;
        }
        buf_.resize(buf_.size() * 2);
      }
      if (timeout_ms >= 0) {
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno != EINTR) {
          error = std::string("poll: ") + std::strerror(errno);
          return Status::kIoError;
        }
        if (r <= 0) return Status::kTimeout;
      }
      ssize_t n = ::recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
      if (n == 0) {
        error = "connection closed by the broker";
        return Status::kClosed;
      }
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        error = std::string("recv: ") + std::strerror(errno);
        return Status::kIoError;
      }
      end_ += size_t(n);
    }
  }

  std::string error;  // why the last call did not return a frame

 private:
  // Parses one frame at begin_: > 0 octets it spans (EOLs before it included),
  // 0 when more bytes are needed, -1 when malformed (error set).
  long parse(FrameView& f) {
    const char* const base = buf_.data();
    size_t p = begin_;
    // Heart-beats and the EOLs some brokers put after a frame's NUL.
    while (p < end_) {
      if (base[p] == '\n') {
        p++;
      } else if (base[p] == '\r') {
        if (p + 1 == end_) return 0;
        if (base[p + 1] != '\n') return fail("CR without LF between frames");
        p += 2;
      } else {
        break;
      }
    }
    if (p == end_) {
      begin_ = p;  // nothing but heart-beats: drop them
      return 0;
    }
    auto line_end = [&](size_t from) -> size_t {
      const void* nl = std::memchr(base + from, '\n', end_ - from);
      return nl ? size_t(static_cast<const char*>(nl) - base) : std::string::npos;
    };
    size_t nl = line_end(p);
    if (nl == std::string::npos) return 0;
    std::string_view command(base + p, nl - p);
    if (!command.empty() && command.back() == '\r') command.remove_suffix(1);
    if (command.empty()) return fail("empty command line");
    const size_t head_start = nl + 1;
    size_t q = head_start;
    for (;;) {
      nl = line_end(q);
      if (nl == std::string::npos) return 0;
      size_t len = nl - q;
      if (len == 0 || (len == 1 && base[q] == '\r')) break;  // the empty line
      q = nl + 1;
    }
    f.command = command;
    f.head = std::string_view(base + head_start, q - head_start);
    const size_t body_start = nl + 1;
    if (auto cl = f.header("content-length")) {
      uint64_t n = 0;
      if (cl->empty() || cl->size() > 18) return fail("bad content-length");
      for (char c : *cl) {
        if (c < '0' || c > '9') return fail("bad content-length");
        n = n * 10 + uint64_t(c - '0');
      }
      if (n > max_frame_) {
        error = "content-length " + std::to_string(n) + " over the frame limit";
        return -1;
      }
      if (end_ - body_start < n + 1) return 0;
      if (base[body_start + n] != '\0') return fail("no NUL after content-length octets");
      f.body = std::string_view(base + body_start, n);
      return long(body_start + n + 1 - begin_);
    }
    const void* nul = std::memchr(base + body_start, '\0', end_ - body_start);
    if (!nul) return 0;
    size_t body_end = size_t(static_cast<const char*>(nul) - base);
    f.body = std::string_view(base + body_start, body_end - body_start);
    return long(body_end + 1 - begin_);
  }

  long fail(const char* why) {
    error = why;
    return -1;
  }

  int fd_;
  size_t max_frame_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;  // unparsed octets are buf_[begin_, end_)
};

// Escapes a header name or value for STOMP 1.1/1.2 (not for CONNECT, whose
// headers are never escaped): \ : LF CR become \\ \c \n \r.
inline std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case ':': out += "\\c"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

// Appends a frame whose headers are already in wire form (escaped where the
// command needs it). A body gets a content-length header.
inline void append_frame(std::string& out, std::string_view command,
                         std::initializer_list<std::pair<std::string_view, std::string_view>> headers,
                         std::string_view body = {}) {
  out += command;
  out += '\n';
  for (const auto& [name, value] : headers) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  if (!body.empty()) {
    out += "content-length:";
    out += std::to_string(body.size());
    out += '\n';
  }
  out += '\n';
  out += body;
  out += '\0';
}

// Writes all of data; 0 or the errno. MSG_NOSIGNAL: a broker that closed the
// connection gives EPIPE here instead of killing the process, so the ERROR
// frame it sent first can still be read and shown.
inline int write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    len -= size_t(n);
  }
  return 0;
}

}  // namespace wharf_bench::stomp
