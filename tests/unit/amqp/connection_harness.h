// Drives an amqp::Connection the way net::Connection does (on_data with the
// unconsumed input, on_close when the socket closes) through a fake
// Transport: output lands in a byte vector that the test reads back as
// frames, and time moves only when the test says so.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "amqp/channel_handler.h"
#include "amqp/connection.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "amqp/protocol/protocol_header.h"
#include "test_util.h"

namespace wharf::amqp::test {

// What the fake transport saw; shared with the test.
struct Wire {
  Bytes out;                   // every byte the connection sent
  bool closed = false;         // close() or close_after_flush()
  bool flushed_close = false;  // ... and it was close_after_flush()
  bool paused = false;
  size_t queued = 0;           // pretend-unwritten output (backpressure tests)
  Transport::Clock::time_point now{std::chrono::seconds(1000)};
  std::optional<Transport::Clock::time_point> timer_at;
  std::function<void()> fire;
  net::Session* session = nullptr;  // told on_close(), like net::Connection does
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<Wire> w) : w_(std::move(w)) {}
  void send(OutBuffer&& out) override {
    if (w_->closed) return;
    auto b = out.to_bytes();
    w_->out.insert(w_->out.end(), b.begin(), b.end());
  }
  size_t queued_output_bytes() const override { return w_->queued; }
  void pause_reading() override { w_->paused = true; }
  void resume_reading() override { w_->paused = false; }
  bool reading_paused() const override { return w_->paused; }
  void close() override { do_close(false); }
  void close_after_flush() override { do_close(true); }
  Clock::time_point now() const override { return w_->now; }
  void arm_timer(Clock::time_point when, std::function<void()> fire) override {
    w_->timer_at = when;
    w_->fire = std::move(fire);
  }
  void disarm_timer() override {
    w_->timer_at.reset();
    w_->fire = nullptr;
  }

 private:
  void do_close(bool flushed) {
    if (w_->closed) return;
    w_->closed = true;
    w_->flushed_close = flushed;
    if (w_->session) w_->session->on_close();
  }
  std::shared_ptr<Wire> w_;
};

// A handler that records what it is told, and lets a test decide what a
// command does (default: answer like the temporary 540 handler would, but on
// the channel, so tests can see channel-level behaviour).
struct Recorder {
  std::vector<std::string> events;
  std::function<void(ChannelContext&, Command&)> on_command;
  std::vector<std::weak_ptr<ChannelContext>> opened;
  int writable = 0;
};

class RecordingHandler final : public ChannelHandler {
 public:
  explicit RecordingHandler(std::shared_ptr<Recorder> r) : r_(std::move(r)) {}
  void on_channel_open(ChannelContext& ch) override {
    r_->events.push_back("open " + std::to_string(ch.id()));
    r_->opened.push_back(ch.weak());
  }
  void on_command(ChannelContext& ch, Command&& cmd) override {
    r_->events.push_back("command " + std::to_string(ch.id()) + " " + std::string(msg::name_of(cmd.method)));
    if (r_->on_command) r_->on_command(ch, cmd);
  }
  void on_flow(ChannelContext& ch, bool active) override {
    r_->events.push_back("flow " + std::to_string(ch.id()) + (active ? " on" : " off"));
  }
  void on_channel_close(ChannelContext& ch) override { r_->events.push_back("close " + std::to_string(ch.id())); }
  void on_writable(ConnectionContext&) override { ++r_->writable; }
  void on_connection_close(ConnectionContext&) override { r_->events.push_back("connection closed"); }

 private:
  std::shared_ptr<Recorder> r_;
};

// A frame the server sent.
struct OutFrame {
  FrameType type;
  uint16_t channel;
  Bytes payload;
};

inline msg::BasicPublish make_publish(std::string rk = "rk") {
  msg::BasicPublish p;
  p.routing_key = std::move(rk);
  return p;
}

class Harness {
 public:
  struct Options {
    AmqpConfig config;
    bool loopback = true;
    std::shared_ptr<const AmqpAuth> auth = std::make_shared<DefaultAuth>();
    ChannelHandlerFactory factory;  // default: RecordingHandler on `recorder`
  };

  Harness() : Harness(Options{}) {}
  explicit Harness(Options o) : wire(std::make_shared<Wire>()), recorder(std::make_shared<Recorder>()) {
    auto env = std::make_shared<ConnectionEnv>();
    env->config = o.config;
    env->auth = o.auth;
    env->cluster_name = "wharf@test";
    auto rec = recorder;
    env->handler_factory = o.factory ? o.factory : ChannelHandlerFactory([rec](ConnectionContext&) {
      return std::make_unique<RecordingHandler>(rec);
    });
    conn = std::make_shared<Connection>(std::make_unique<FakeTransport>(wire), env,
                                        o.loopback ? "127.0.0.1:5555" : "10.1.2.3:5555", o.loopback);
    wire->session = conn.get();
  }

  std::shared_ptr<Wire> wire;
  std::shared_ptr<Recorder> recorder;
  std::shared_ptr<Connection> conn;

  // ---- client -> server ----------------------------------------------------

  // Delivers bytes like net::Connection: on_data sees all unconsumed input
  // and may take part of it; the rest waits for more bytes (or a resume).
  void feed(const Bytes& b) {
    pending_.insert(pending_.end(), b.begin(), b.end());
    pump();
  }
  void pump() {
    while (!wire->closed && !wire->paused && !pending_.empty()) {
      auto block = std::make_shared<std::vector<uint8_t>>(pending_);
      size_t want = 0;
      auto r = conn->on_data(block, std::span<uint8_t>(block->data(), block->size()), &want);
      ASSERT_TRUE(r.ok()) << r.error().message;
      if (*r == 0) break;
      pending_.erase(pending_.begin(), pending_.begin() + long(*r));
    }
  }
  size_t unconsumed() const { return pending_.size(); }

  static Bytes header() { return Bytes(kProtocolHeader.begin(), kProtocolHeader.end()); }

  template <class M>
  static Bytes method_frame(uint16_t ch, const M& m) {
    OutBuffer out;
    EXPECT_TRUE(write_method_frame(out, ch, m, 1 << 24).ok());
    return out.to_bytes();
  }
  static Bytes header_frame(uint16_t ch, uint64_t body_size) {
    OutBuffer out;
    EXPECT_TRUE(write_content_header_frame(out, ch, body_size, msg::BasicProperties{}, 1 << 24).ok());
    return out.to_bytes();
  }
  static Bytes body_frames(uint16_t ch, std::string_view body, uint32_t frame_max) {
    OutBuffer out;
    write_body_frames(out, ch, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
                      frame_max);
    return out.to_bytes();
  }
  static Bytes heartbeat_frame() {
    OutBuffer out;
    write_heartbeat_frame(out);
    return out.to_bytes();
  }
  template <class M>
  void send(uint16_t ch, const M& m) { feed(method_frame(ch, m)); }
  void publish(uint16_t ch, std::string_view body, uint32_t frame_max = 131072) {
    feed(cat({method_frame(ch, make_publish()), header_frame(ch, body.size()), body_frames(ch, body, frame_max)}));
  }

  static msg::ConnectionStartOk start_ok_plain(std::string user, std::string pass, bool failure_close_cap = true) {
    msg::ConnectionStartOk ok;
    FieldTable caps;
    if (failure_close_cap) caps.set("authentication_failure_close", true);
    caps.set("connection.blocked", true);
    ok.client_properties.set("capabilities", std::move(caps));
    ok.client_properties.set("product", "harness");
    ok.mechanism = "PLAIN";
    ok.response = std::string("\0", 1) + user + std::string("\0", 1) + pass;
    return ok;
  }

  // Header, start-ok, tune-ok, open; asserts every server step.
  void handshake(uint16_t channel_max = 0, uint32_t frame_max = 0, uint16_t heartbeat = 60,
                 std::string vhost = "/") {
    feed(header());
    expect<msg::ConnectionStart>(0);
    send(0, start_ok_plain("guest", "guest"));
    expect<msg::ConnectionTune>(0);
    send(0, msg::ConnectionTuneOk{channel_max, frame_max, heartbeat});
    msg::ConnectionOpen open;
    open.virtual_host = std::move(vhost);
    send(0, open);
    expect<msg::ConnectionOpenOk>(0);
    ASSERT_EQ(conn->state(), Connection::State::kOpen);
  }
  void open_channel(uint16_t ch) {
    send(ch, msg::ChannelOpen{});
    expect<msg::ChannelOpenOk>(ch);
  }

  // ---- server -> client ----------------------------------------------------

  // The frames sent since the last call (raw bytes before the first frame,
  // such as a protocol header, are returned by raw_out()).
  std::vector<OutFrame> frames() {
    std::vector<OutFrame> fs;
    FrameParser parser(1 << 24);
    while (read_ < wire->out.size()) {
      std::span<uint8_t> rest(wire->out.data() + read_, wire->out.size() - read_);
      FrameParse p = parser.parse(rest);
      EXPECT_EQ(p.status, FrameParse::kFrame) << "server output is not a whole frame";
      if (p.status != FrameParse::kFrame) break;
      fs.push_back(OutFrame{p.frame.type, p.frame.channel, Bytes(p.frame.payload.begin(), p.frame.payload.end())});
      read_ += p.size;
    }
    for (auto& f : fs) backlog_.push_back(std::move(f));
    std::vector<OutFrame> all(backlog_.begin(), backlog_.end());
    backlog_.clear();
    return all;
  }
  Bytes raw_out() {
    Bytes b(wire->out.begin() + long(read_), wire->out.end());
    read_ = wire->out.size();
    return b;
  }

  // The next frame must be method M on `ch`.
  template <class M>
  M expect(uint16_t ch) {
    if (backlog_.empty()) {
      auto fs = frames();
      backlog_.assign(fs.begin(), fs.end());
    }
    if (backlog_.empty()) {
      ADD_FAILURE() << "expected " << M::kName << " on channel " << ch << ", got nothing";
      return M{};
    }
    OutFrame f = std::move(backlog_.front());
    backlog_.pop_front();
    EXPECT_EQ(f.type, FrameType::Method);
    EXPECT_EQ(f.channel, ch);
    auto m = msg::decode_method_payload(f.payload);
    if (!m.ok()) {
      ADD_FAILURE() << "undecodable method frame: " << m.error().message;
      return M{};
    }
    if (!std::holds_alternative<M>(*m)) {
      ADD_FAILURE() << "expected " << M::kName << ", got " << msg::name_of(*m);
      return M{};
    }
    return std::get<M>(*m);
  }
  bool nothing_sent() {
    auto fs = frames();
    backlog_.assign(fs.begin(), fs.end());
    return backlog_.empty();
  }

  // Moves the fake clock, firing the connection's timer whenever it is due.
  void advance(std::chrono::milliseconds d) {
    const auto until = wire->now + d;
    while (wire->timer_at && *wire->timer_at <= until && !wire->closed) {
      wire->now = std::max(wire->now, *wire->timer_at);
      auto fire = std::move(wire->fire);
      wire->timer_at.reset();
      wire->fire = nullptr;
      if (fire) fire();
    }
    wire->now = until;
  }

 private:
  Bytes pending_;
  size_t read_ = 0;
  std::deque<OutFrame> backlog_;
};

}  // namespace wharf::amqp::test
