// wharf-delay-load: load for scheduled delivery through the AMQP exchange
// type x-delayed-message (header x-delay), on rabbitmq-c's blocking API.
// bench/delay_bench.sh runs it; figures are printed as key=value lines.
//
// Modes:
//   fill      --messages (default 1,000,000) --size-byte bodies published
//             with x-delay = --delay-ms (far in the future), with publisher
//             confirms (a window of --window unconfirmed), or with delays
//             spread evenly over [--delay-ms, --delay-ms + --spread-ms); then, after
//             --settle seconds, the VmRSS of broker --pid. The messages stay
//             pending in the broker; with --wait-fired the tool then polls
//             the queue's count until all have fired, printing the broker's
//             peak VmRSS meanwhile.
//   lateness  a consumer connection on its own thread, then --messages
//             published with delays spread evenly over [--delay-ms,
//             --delay-ms + --spread-ms). Each body carries its due time
//             (wall clock at publish + x-delay); the consumer records
//             receive time - due time. Prints p50/p99/max lateness (ms).
//             The broker starts its clock when the publish arrives, a little
//             after the client's, so the figure includes that transit.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string mode = "fill";
  long messages = 1'000'000;
  int size = 100;
  long delay_ms = 3'600'000;
  long spread_ms = -1;  // lateness default 2,000; fill default 0
  int window = 2'000;
  int pid = 0;
  double settle = 2;
  bool persistent = false;
  bool wait_fired = false;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "wharf-delay-load: %s\n", why.c_str());
  std::exit(2);
}

int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void check(amqp_rpc_reply_t r, const char* what) {
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return;
  die(std::string(what) + " failed (reply type " + std::to_string(r.reply_type) + ")");
}

amqp_connection_state_t connect(const Options& o) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (!s || amqp_socket_open(s, o.host.c_str(), o.port) != AMQP_STATUS_OK) die("cannot connect");
  check(amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
  amqp_channel_open(c, 1);
  check(amqp_get_rpc_reply(c), "channel.open");
  return c;
}

long rss_kb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  die("no VmRSS for pid " + std::to_string(pid));
}

// Declares the delayed exchange and a queue bound to it with key "k".
void declare(amqp_connection_state_t c, const std::string& x, const std::string& q) {
  amqp_table_entry_t arg;
  arg.key = amqp_cstring_bytes("x-delayed-type");
  arg.value.kind = AMQP_FIELD_KIND_UTF8;
  arg.value.value.bytes = amqp_cstring_bytes("direct");
  amqp_table_t args{1, &arg};
  amqp_exchange_declare(c, 1, amqp_cstring_bytes(x.c_str()), amqp_cstring_bytes("x-delayed-message"), 0, 0, 0, 0,
                        args);
  check(amqp_get_rpc_reply(c), "exchange.declare");
  amqp_queue_declare(c, 1, amqp_cstring_bytes(q.c_str()), 0, 0, 0, 0, amqp_empty_table);
  check(amqp_get_rpc_reply(c), "queue.declare");
  amqp_queue_bind(c, 1, amqp_cstring_bytes(q.c_str()), amqp_cstring_bytes(x.c_str()), amqp_cstring_bytes("k"),
                  amqp_empty_table);
  check(amqp_get_rpc_reply(c), "queue.bind");
}

// Publishes with confirms; body(i, delay, bytes) fills each body.
template <class Body>
void publish_all(amqp_connection_state_t c, const Options& o, const std::string& x, Body body) {
  amqp_confirm_select(c, 1);
  check(amqp_get_rpc_reply(c), "confirm.select");
  std::vector<char> acked(size_t(o.messages) + 2, 0);
  long upto = 0;  // every tag <= upto is confirmed
  auto read_confirm = [&] {
    amqp_frame_t f;
    if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK) die("connection lost waiting for confirms");
    if (f.frame_type != AMQP_FRAME_METHOD) return;
    if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) die("publish nacked");
    if (f.payload.method.id != AMQP_BASIC_ACK_METHOD) return;
    auto* a = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
    long tag = long(a->delivery_tag);
    if (a->multiple) {
      for (long t = upto + 1; t <= tag; ++t) acked[size_t(t)] = 1;
    } else if (tag >= 0 && tag <= o.messages) {
      acked[size_t(tag)] = 1;
    }
    while (upto < o.messages && acked[size_t(upto + 1)]) ++upto;
  };
  std::string bytes(size_t(std::max(o.size, 16)), 'x');
  amqp_table_entry_t h;
  h.key = amqp_cstring_bytes("x-delay");
  h.value.kind = AMQP_FIELD_KIND_I64;
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = o.persistent ? 2 : 1;
  props.headers = amqp_table_t{1, &h};
  for (long i = 1; i <= o.messages; ++i) {
    int64_t delay = body(i, bytes);
    h.value.value.i64 = delay;
    amqp_bytes_t b{bytes.size(), bytes.data()};
    if (amqp_basic_publish(c, 1, amqp_cstring_bytes(x.c_str()), amqp_cstring_bytes("k"), 0, 0, &props, b) !=
        AMQP_STATUS_OK)
      die("publish failed");
    while (i - upto >= o.window) read_confirm();
  }
  while (upto < o.messages) read_confirm();
}

int fill(const Options& o) {
  amqp_connection_state_t c = connect(o);
  declare(c, "delay-bench-x", "delay-bench-q");
  long before = o.pid ? rss_kb(o.pid) : 0;
  int64_t t0 = wall_ms();
  publish_all(c, o, "delay-bench-x", [&](long i, std::string& bytes) {
    std::memcpy(bytes.data(), &i, sizeof i);
    return int64_t(o.delay_ms + (o.spread_ms * (i - 1)) / o.messages);
  });
  int64_t t1 = wall_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(long(o.settle * 1000)));
  long after = o.pid ? rss_kb(o.pid) : 0;
  std::printf("mode=fill messages=%ld size=%d delay_ms=%ld spread_ms=%ld publish_s=%.2f rate=%.0f rss_before_kb=%ld rss_kb=%ld\n",
              o.messages, o.size, o.delay_ms, o.spread_ms, (t1 - t0) / 1000.0, o.messages * 1000.0 / std::max<int64_t>(1, t1 - t0),
              before, after);
  if (o.wait_fired) {
    // Until every message has fired into the queue: the queue's count by
    // passive declare, and the broker's peak RSS meanwhile.
    long peak = after;
    uint32_t count = 0;
    int64_t f0 = wall_ms();
    while (count < uint32_t(o.messages)) {
      amqp_queue_declare_ok_t* ok =
          amqp_queue_declare(c, 1, amqp_cstring_bytes("delay-bench-q"), 1, 0, 0, 0, amqp_empty_table);
      check(amqp_get_rpc_reply(c), "queue.declare passive");
      count = ok->message_count;
      if (o.pid) peak = std::max(peak, rss_kb(o.pid));
      if (wall_ms() - f0 > 600'000) die("not all fired within 10 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("mode=fired messages=%ld waited_s=%.2f peak_rss_kb=%ld rss_kb=%ld\n", o.messages,
                (wall_ms() - f0) / 1000.0, peak, o.pid ? rss_kb(o.pid) : 0);
  }
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
  return 0;
}

int lateness(const Options& o) {
  amqp_connection_state_t pub = connect(o);
  declare(pub, "delay-late-x", "delay-late-q");
  std::vector<int64_t> late;
  late.reserve(size_t(o.messages));
  long bad = 0;
  std::thread consumer([&] {
    amqp_connection_state_t c = connect(o);
    amqp_basic_consume(c, 1, amqp_cstring_bytes("delay-late-q"), amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
    check(amqp_get_rpc_reply(c), "basic.consume");
    while (long(late.size()) < o.messages) {
      amqp_envelope_t env;
      timeval tv{std::max<long>(60, (o.delay_ms + o.spread_ms) / 1000 + 60), 0};
      amqp_maybe_release_buffers(c);
      amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) break;
      int64_t now = wall_ms();
      if (env.message.body.len >= 8) {
        int64_t due;
        std::memcpy(&due, env.message.body.bytes, 8);
        late.push_back(now - due);
      } else {
        ++bad;
      }
      amqp_destroy_envelope(&env);
    }
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the consumer attach
  publish_all(pub, o, "delay-late-x", [&](long i, std::string& bytes) {
    int64_t delay = o.delay_ms + (o.spread_ms * (i - 1)) / o.messages;
    int64_t due = wall_ms() + delay;
    std::memcpy(bytes.data(), &due, sizeof due);
    return delay;
  });
  consumer.join();
  amqp_connection_close(pub, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(pub);
  if (late.empty()) die("nothing received");
  std::sort(late.begin(), late.end());
  auto pct = [&](double p) { return late[std::min(late.size() - 1, size_t(p * double(late.size())))]; };
  std::printf("mode=lateness messages=%ld received=%zu delay_ms=%ld spread_ms=%ld late_ms_min=%" PRId64
              " p50=%" PRId64 " p99=%" PRId64 " max=%" PRId64 "\n",
              o.messages, late.size(), o.delay_ms, o.spread_ms, late.front(), pct(0.5), pct(0.99), late.back());
  return long(late.size()) == o.messages && bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--host") o.host = val();
    else if (a == "--port") o.port = std::stoi(val());
    else if (a == "--mode") o.mode = val();
    else if (a == "--messages") o.messages = std::stol(val());
    else if (a == "--size") o.size = std::stoi(val());
    else if (a == "--delay-ms") o.delay_ms = std::stol(val());
    else if (a == "--spread-ms") o.spread_ms = std::stol(val());
    else if (a == "--window") o.window = std::stoi(val());
    else if (a == "--pid") o.pid = std::stoi(val());
    else if (a == "--settle") o.settle = std::stod(val());
    else if (a == "--persistent") o.persistent = true;
    else if (a == "--wait-fired") o.wait_fired = true;
    else if (a == "--help") {
      std::puts("wharf-delay-load --port N [--mode fill|lateness] [--messages N] [--size B] [--delay-ms MS]\n"
                "                 [--spread-ms MS] [--window N] [--pid PID] [--settle S] [--persistent]\n"
                "                 [--wait-fired]");
      return 0;
    } else die("unknown option " + a);
  }
  if (o.messages <= 0) die("--messages must be positive");
  if (o.spread_ms < 0) o.spread_ms = o.mode == "fill" ? 0 : 2'000;
  if (o.mode == "fill") return fill(o);
  if (o.mode == "lateness") return lateness(o);
  die("unknown mode " + o.mode);
}
