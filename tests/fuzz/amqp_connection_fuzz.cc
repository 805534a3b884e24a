// libFuzzer target for the AMQP connection and channel state machines
// (src/amqp/connection.cc, channel.cc): arbitrary client bytes must never
// crash the broker, and whatever it answers must be well-formed frames.
//
// Each input is run twice on fresh connections:
//   1. after a correct handshake (protocol header, start-ok, tune-ok with
//      frame_max 131072 and heartbeat 1, open, channels 1-3 opened), fed in
//      small pieces so frames arrive split; the seeds are those of
//      amqp_frame_fuzz (client frame streams);
//   2. from the very first byte, so the header check and the handshake
//      states meet garbage too.
// After the input, the fake clock runs past every timeout (heartbeat, close,
// handshake), so the timer paths run as well.
//
// The channel handler echoes publishes as deliveries (content splitting),
// answers queue.declare, and turns basic.qos into a soft channel error, so
// commands keep flowing instead of the first one closing the connection.
//
// Checks: no crash, leak or UB (ASan/UBSan); the output parses as whole
// frames within the negotiated frame_max (or is exactly our protocol header
// after a bad header).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <spdlog/spdlog.h>

#include "amqp/connection.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "amqp/protocol/protocol_header.h"

using namespace wharf;
using namespace wharf::amqp;

namespace {

using Bytes = std::vector<uint8_t>;

struct FakeTransport final : Transport {
  Bytes out;
  bool closed = false;
  bool paused = false;
  Clock::time_point clock{std::chrono::seconds(1)};
  std::optional<Clock::time_point> timer_at;
  std::function<void()> fire;
  net::Session* session = nullptr;

  void send(OutBuffer&& o) override {
    if (closed) return;
    Bytes b = o.to_bytes();
    out.insert(out.end(), b.begin(), b.end());
  }
  size_t queued_output_bytes() const override { return 0; }
  void pause_reading() override { paused = true; }
  void resume_reading() override { paused = false; }
  bool reading_paused() const override { return paused; }
  void close() override { do_close(); }
  void close_after_flush() override { do_close(); }
  Clock::time_point now() const override { return clock; }
  void arm_timer(Clock::time_point when, std::function<void()> f) override {
    timer_at = when;
    fire = std::move(f);
  }
  void disarm_timer() override {
    timer_at.reset();
    fire = nullptr;
  }
  void do_close() {
    if (closed) return;
    closed = true;
    if (session) session->on_close();
  }
};

class EchoHandler final : public ChannelHandler {
 public:
  void on_command(ChannelContext& ch, Command&& cmd) override {
    if (auto* p = std::get_if<msg::BasicPublish>(&cmd.method)) {
      msg::BasicDeliver d;
      d.delivery_tag = ++tag_;
      d.exchange = p->exchange;
      d.routing_key = p->routing_key;
      ch.send_content(d, cmd.header ? cmd.header->properties : msg::BasicProperties{}, cmd.body);
      if (tag_ % 7 == 0) ch.connection().block("fuzz");
      if (tag_ % 11 == 0) ch.connection().unblock();
    } else if (auto* q = std::get_if<msg::QueueDeclare>(&cmd.method)) {
      ch.send(msg::QueueDeclareOk{q->queue, 0, 0});
    } else if (std::holds_alternative<msg::BasicQos>(cmd.method)) {
      ch.fail(ReplyCode::PRECONDITION_FAILED, "fuzz", msg::MethodId::BasicQos);
    }
  }

 private:
  uint64_t tag_ = 0;
};

std::shared_ptr<const ConnectionEnv> make_env() {
  auto env = std::make_shared<ConnectionEnv>();
  env->auth = std::make_shared<DefaultAuth>();
  env->handler_factory = [](ConnectionContext&) { return std::make_unique<EchoHandler>(); };
  env->cluster_name = "fuzz";
  env->config.max_message_bytes = 1 << 20;
  return env;
}

template <class M>
Bytes frame(uint16_t ch, const M& m) {
  OutBuffer o;
  if (!write_method_frame(o, ch, m, 1 << 20).ok()) abort();
  return o.to_bytes();
}

Bytes handshake() {
  Bytes b(kProtocolHeader.begin(), kProtocolHeader.end());
  auto add = [&](const Bytes& f) { b.insert(b.end(), f.begin(), f.end()); };
  msg::ConnectionStartOk ok;
  FieldTable caps;
  caps.set("authentication_failure_close", true);
  caps.set("connection.blocked", true);
  ok.client_properties.set("capabilities", std::move(caps));
  ok.mechanism = "PLAIN";
  ok.response = std::string("\0guest\0guest", 12);
  add(frame(0, ok));
  add(frame(0, msg::ConnectionTuneOk{0, 131072, 1}));
  add(frame(0, msg::ConnectionOpen{}));
  for (uint16_t c = 1; c <= 3; ++c) add(frame(c, msg::ChannelOpen{}));
  return b;
}

// Delivers input like net::Connection: on_data sees all unconsumed bytes.
void feed(Connection& c, FakeTransport& t, Bytes& pending, std::span<const uint8_t> more) {
  pending.insert(pending.end(), more.begin(), more.end());
  while (!t.closed && !t.paused && !pending.empty()) {
    auto block = std::make_shared<std::vector<uint8_t>>(pending);
    size_t want = 0;
    auto r = c.on_data(block, std::span<uint8_t>(block->data(), block->size()), &want);
    if (!r.ok()) abort();  // the AMQP session reports errors on the wire, never to net
    if (*r > pending.size()) abort();
    if (*r == 0) break;
    pending.erase(pending.begin(), pending.begin() + long(*r));
  }
}

void run_clock(FakeTransport& t) {
  for (int i = 0; i < 200 && t.timer_at && !t.closed; ++i) {
    t.clock = std::max(t.clock, *t.timer_at);
    auto f = std::move(t.fire);
    t.timer_at.reset();
    if (f) f();
  }
}

void check_output(const Bytes& out, uint32_t frame_max) {
  std::span<const uint8_t> rest(out);
  if (rest.size() >= 8 && std::equal(kProtocolHeader.begin(), kProtocolHeader.end(), rest.begin())) {
    if (rest.size() != 8) abort();  // our header is all we send after a bad one
    return;
  }
  FrameParser parser(frame_max);
  while (!rest.empty()) {
    Bytes copy(rest.begin(), rest.end());
    FrameParse p = parser.parse(copy);
    if (p.status != FrameParse::kFrame) abort();
    rest = rest.subspan(p.size);
  }
}

void run(std::span<const uint8_t> prefix, std::span<const uint8_t> data, bool split) {
  auto t = std::make_unique<FakeTransport>();
  FakeTransport& tr = *t;
  auto conn = std::make_shared<Connection>(std::move(t), make_env(), "127.0.0.1:1", true);
  tr.session = conn.get();
  Bytes pending;
  feed(*conn, tr, pending, prefix);
  if (!split) {
    feed(*conn, tr, pending, data);
  } else {
    size_t pos = 0;
    while (pos < data.size() && !tr.closed) {
      const size_t n = std::min<size_t>(data.size() - pos, 1 + data[pos] % 13);
      feed(*conn, tr, pending, data.subspan(pos, n));
      pos += n;
      if (tr.paused && pos % 5 == 0) conn->unblock();  // resumes reading
    }
  }
  run_clock(tr);
  check_output(tr.out, 131072);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  static const Bytes hs = handshake();
  std::span<const uint8_t> in(data, size);
  run(hs, in, /*split=*/true);
  run({}, in, /*split=*/false);
  return 0;
}
