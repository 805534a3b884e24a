// Pre-encoded basic.publish messages for wharf-amqp-load's --batch option.
//
// amqp_basic_publish() makes one send(2) per frame, three per message (method,
// content header, body), which costs more CPU than a fast broker spends on the
// message and caps one publisher near 250,000 messages/s here. With --batch N
// the publisher instead writes N messages with one send(2): every message of a
// run has the same method and header frames, so one message is encoded once
// (its payloads by rabbitmq-c's own encoders, the frame envelopes here) and
// copied, and only the sequence number and time stamp at the start of each
// body are patched in.
//
// Wire layout of one frame (AMQP 0-9-1 section 4.2.3):
//   type:u8  channel:u16  size:u32  payload[size]  0xCE
// method payload:  class-id:u16 method-id:u16 arguments
// header payload:  class-id:u16 weight:u16(0) body-size:u64 property flags + list
// A body longer than frame_max - 8 is split over several body frames.
#pragma once

#include <amqp.h>
#include <amqp_framing.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace wharf_bench {

class PublishFrames {
 public:
  // REQUIRES: frame_max >= 4096 (the protocol's minimum), so the first body
  // frame holds the 16-byte head that patch() writes.
  PublishFrames(uint16_t channel, amqp_bytes_t exchange, amqp_bytes_t routing_key,
                const amqp_basic_properties_t& props, size_t body_size, size_t frame_max)
      : channel_(channel) {
    char payload[1024];
    amqp_basic_publish_t m{};
    m.exchange = exchange;
    m.routing_key = routing_key;
    int n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m, amqp_bytes_t{sizeof payload, payload});
    if (n < 0) throw std::runtime_error("encoding basic.publish failed");
    frame(AMQP_FRAME_METHOD, [&] {
      put32(AMQP_BASIC_PUBLISH_METHOD);  // class id and method id, 16 bits each
      msg_.insert(msg_.end(), payload, payload + n);
    });
    auto props_copy = props;
    n = amqp_encode_properties(AMQP_BASIC_CLASS, &props_copy, amqp_bytes_t{sizeof payload, payload});
    if (n < 0) throw std::runtime_error("encoding basic properties failed");
    frame(AMQP_FRAME_HEADER, [&] {
      put16(AMQP_BASIC_CLASS);
      put16(0);
      put32(uint32_t(uint64_t(body_size) >> 32));
      put32(uint32_t(body_size));
      msg_.insert(msg_.end(), payload, payload + n);
    });
    const size_t per_frame = frame_max - 8;
    body_offset_ = msg_.size() + 7;
    for (size_t done = 0; done < body_size;) {
      size_t k = std::min(per_frame, body_size - done);
      frame(AMQP_FRAME_BODY, [&] { msg_.insert(msg_.end(), k, 'x'); });
      done += k;
    }
  }

  size_t size() const { return msg_.size(); }

  // Appends one encoded message to out and returns the offset in out of its
  // body's first byte (for patch()).
  size_t append(std::vector<char>& out) const {
    size_t at = out.size();
    out.insert(out.end(), msg_.begin(), msg_.end());
    return at + body_offset_;
  }
  static void patch(std::vector<char>& out, size_t body_at, uint64_t seq, int64_t sent_ns) {
    std::memcpy(out.data() + body_at, &seq, 8);
    std::memcpy(out.data() + body_at + 8, &sent_ns, 8);
  }

 private:
  template <typename Fill>
  void frame(uint8_t type, Fill fill) {
    msg_.push_back(char(type));
    put16(channel_);
    size_t size_at = msg_.size();
    put32(0);
    fill();
    uint32_t size = uint32_t(msg_.size() - size_at - 4);
    for (int i = 0; i < 4; i++) msg_[size_at + i] = char(size >> (24 - 8 * i));
    msg_.push_back(char(AMQP_FRAME_END));
  }
  void put16(uint16_t v) {
    msg_.push_back(char(v >> 8));
    msg_.push_back(char(v));
  }
  void put32(uint32_t v) {
    put16(uint16_t(v >> 16));
    put16(uint16_t(v));
  }

  uint16_t channel_;
  std::vector<char> msg_;
  size_t body_offset_ = 0;
};

// Writes all of [p, p+n) to fd, which may be non-blocking (rabbitmq-c's is):
// waits for room with poll(2). Returns 0 or an errno value.
inline int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= size_t(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, -1);
    } else if (w < 0 && errno != EINTR) {
      return errno;
    }
  }
  return 0;
}

}  // namespace wharf_bench
