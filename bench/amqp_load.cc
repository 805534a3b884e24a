// wharf-amqp-load: an AMQP 0-9-1 load generator on rabbitmq-c's blocking API.
//
// Any AMQP 0-9-1 broker will do; bench/amqp_bench.sh runs it against Wharf and
// against a RabbitMQ it starts itself, with the same options. Figures are
// printed as one `key=value` line per run; the exit status is non-zero when a
// message was lost, duplicated, reordered or nacked, or the broker failed.
//
// Every body starts with two little-endian 64-bit words: a sequence number
// (1, 2, 3, ... per run) and the CLOCK_MONOTONIC time (ns) at which it was
// handed to the client library. One publisher, one queue and one consumer
// without requeues means the broker must deliver in publish order, so the
// consumer checks every sequence number against the next one it expects and
// counts lost, duplicated and reordered messages; the time stamp gives the
// end-to-end latency without shared state between the two connections.
//
// Modes:
//   throughput  a publisher connection (main thread) and a consumer connection
//               (own thread) on one queue; published/s and consumed/s
//   latency     the same at a fixed --rate; end-to-end latency percentiles of
//               the messages sent after --warmup seconds
//   fill        --messages into a queue with confirms, then the queue's count
//               (passive declare) and the resident memory of --pid
//   declare     --queues queue.declare + queue.bind round trips, timed
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/prctl.h>

#include "amqp_publish_frames.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string user = "guest", password = "guest", vhost = "/";
  std::string mode = "throughput";
  std::string queue;  // default: wharf-bench-<mode>
  int size = 100;
  double seconds = 10;  // throughput: publishing time; latency: measured time after warm-up
  long messages = 0;    // throughput: a count instead of --seconds; fill: how many (default 1,000,000)
  bool persistent = false;  // delivery_mode 2; implies a durable queue
  bool durable = false;
  bool confirm = false;
  int confirm_window = 1000;  // unconfirmed publishes in flight
  int batch = 1;              // messages per send(2); 1 = amqp_basic_publish() per message
  bool manual_ack = false;
  int ack_every = 100;   // consumer acks with multiple=true every this many deliveries
  int prefetch = 1000;   // basic.qos prefetch-count with --manual-ack
  long rate = 10000;     // latency: messages/s
  double warmup = 2;     // latency: seconds not measured
  int pid = 0;           // fill: broker process whose VmRSS is printed
  double settle = 2;     // fill: seconds between the last confirm and the second RSS reading
  int queues = 10000;    // declare
  std::string exchange = "amq.direct";  // declare: bind to this exchange ...
  bool declare_exchange = false;        // ... after declaring it (direct) first
  bool keep = false;     // leave queues (and the exchange) behind
};

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wharf-amqp-load: %s\n", what.c_str());
  std::exit(1);
}

void usage() {
  std::puts(
      "usage: wharf-amqp-load [--host H] [--port P] [--user U] [--password P] [--vhost V]\n"
      "         [--mode throughput|latency|fill|declare] [--queue NAME] [--size BYTES]\n"
      "  throughput/latency: [--seconds S] [--messages N] [--persistent] [--durable]\n"
      "         [--confirm] [--confirm-window N] [--manual-ack] [--ack-every K] [--prefetch N]\n"
      "         [--batch N]  (messages per send(2), pre-encoded; default 1 = amqp_basic_publish)\n"
      "  latency: [--rate MSG_PER_S] [--warmup S]\n"
      "  fill:    [--messages N] [--pid BROKER_PID] [--settle S] [--confirm-window N] [--durable]\n"
      "  declare: [--queues N] [--exchange NAME] [--declare-exchange] [--durable]\n"
      "  [--keep] leaves the queues behind.\n"
      "Prints one line of key=value figures; exits 1 on any lost, duplicated, reordered or\n"
      "nacked message or broker error.");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--host") o.host = val();
    else if (a == "--port") o.port = std::stoi(val());
    else if (a == "--user") o.user = val();
    else if (a == "--password") o.password = val();
    else if (a == "--vhost") o.vhost = val();
    else if (a == "--mode") o.mode = val();
    else if (a == "--queue") o.queue = val();
    else if (a == "--size") o.size = std::stoi(val());
    else if (a == "--seconds") o.seconds = std::stod(val());
    else if (a == "--messages") o.messages = std::stol(val());
    else if (a == "--persistent") o.persistent = true;
    else if (a == "--durable") o.durable = true;
    else if (a == "--confirm") o.confirm = true;
    else if (a == "--confirm-window") o.confirm_window = std::stoi(val());
    else if (a == "--batch") o.batch = std::stoi(val());
    else if (a == "--manual-ack") o.manual_ack = true;
    else if (a == "--ack-every") o.ack_every = std::stoi(val());
    else if (a == "--prefetch") o.prefetch = std::stoi(val());
    else if (a == "--rate") o.rate = std::stol(val());
    else if (a == "--warmup") o.warmup = std::stod(val());
    else if (a == "--pid") o.pid = std::stoi(val());
    else if (a == "--settle") o.settle = std::stod(val());
    else if (a == "--queues") o.queues = std::stoi(val());
    else if (a == "--exchange") o.exchange = val();
    else if (a == "--declare-exchange") o.declare_exchange = true;
    else if (a == "--keep") o.keep = true;
    else if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else die("unknown option " + a);
  }
  if (o.mode != "throughput" && o.mode != "latency" && o.mode != "fill" && o.mode != "declare")
    die("bad --mode " + o.mode);
  if (o.size < 16) die("--size must be at least 16 (sequence number and time stamp)");
  if (o.confirm_window < 1) die("--confirm-window must be at least 1");
  if (o.batch < 1) die("--batch must be at least 1");
  if (o.ack_every < 1) die("--ack-every must be at least 1");
  // The consumer acks only every K deliveries, so a prefetch below K would stall it.
  if (o.manual_ack && o.prefetch > 0 && o.prefetch < o.ack_every) die("--prefetch must be >= --ack-every (or 0)");
  if (o.prefetch > 65535) die("--prefetch is a 16-bit field");
  if (o.mode == "latency" && o.rate <= 0) die("--rate must be positive");
  if (o.persistent) o.durable = true;
  if (o.mode == "fill") {
    o.confirm = true;  // the point is that every message is in the queue when RSS is read
    if (o.messages == 0) o.messages = 1'000'000;
  }
  if (o.queue.empty()) o.queue = "wharf-bench-" + o.mode;
  return o;
}

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string str(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

// The server's reason for closing a connection or channel, from its method.
std::string close_reason(const amqp_method_t& m) {
  if (m.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* c = static_cast<amqp_connection_close_t*>(m.decoded);
    return "connection closed by broker: " + std::to_string(c->reply_code) + " " + str(c->reply_text);
  }
  if (m.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* c = static_cast<amqp_channel_close_t*>(m.decoded);
    return "channel closed by broker: " + std::to_string(c->reply_code) + " " + str(c->reply_text);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "unexpected method 0x%08x", unsigned(m.id));
  return buf;
}

// One connection with channel 1 open. Not thread-safe (rabbitmq-c's
// connection state is not): each thread owns its own Connection.
class Connection {
 public:
  explicit Connection(const Options& o) : c_(amqp_new_connection()) {
    amqp_socket_t* s = amqp_tcp_socket_new(c_);
    if (!s) die("amqp_tcp_socket_new failed");
    int st = amqp_socket_open(s, o.host.c_str(), o.port);
    if (st != AMQP_STATUS_OK)
      die("connect " + o.host + ":" + std::to_string(o.port) + ": " + amqp_error_string2(st));
    // No heartbeats: a blocked publisher must not be disconnected mid-run, and
    // nothing here reads the socket on a timer.
    check(amqp_login(c_, o.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, o.user.c_str(), o.password.c_str()),
          "login");
    amqp_channel_open(c_, 1);
    check("channel.open");
  }
  ~Connection() {
    amqp_channel_close(c_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t get() const { return c_; }

  // Dies with the broker's or the library's reason unless the last RPC succeeded.
  void check(const char* what) { check(amqp_get_rpc_reply(c_), what); }
  static void check(amqp_rpc_reply_t r, const char* what) {
    switch (r.reply_type) {
      case AMQP_RESPONSE_NORMAL: return;
      case AMQP_RESPONSE_NONE: die(std::string(what) + ": no reply");
      case AMQP_RESPONSE_LIBRARY_EXCEPTION: die(std::string(what) + ": " + amqp_error_string2(r.library_error));
      case AMQP_RESPONSE_SERVER_EXCEPTION: die(std::string(what) + ": " + close_reason(r.reply));
    }
    die(std::string(what) + ": bad reply type");
  }

  // Declares the queue (exclusive and auto-delete off); returns the message
  // count the broker reported. Callers purge it: an interrupted run may have
  // left messages behind.
  uint32_t declare_queue(const std::string& name, bool durable, bool passive = false) {
    auto* ok = amqp_queue_declare(c_, 1, bytes(name), passive, durable, 0, 0, amqp_empty_table);
    check("queue.declare");
    return ok->message_count;
  }
  void purge(const std::string& name) {
    amqp_queue_purge(c_, 1, bytes(name));
    check("queue.purge");
  }
  void delete_queue(const std::string& name) {
    amqp_queue_delete(c_, 1, bytes(name), 0, 0);
    check("queue.delete");
  }

  // Next frame within timeout_ms (< 0: wait forever); false on timeout.
  bool next_frame(amqp_frame_t& f, int timeout_ms) {
    int st;
    if (timeout_ms < 0) {
      st = amqp_simple_wait_frame(c_, &f);
    } else {
      timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
      st = amqp_simple_wait_frame_noblock(c_, &f, &tv);
    }
    if (st == AMQP_STATUS_TIMEOUT) return false;
    if (st != AMQP_STATUS_OK) die(std::string("reading a frame: ") + amqp_error_string2(st));
    if (f.frame_type == AMQP_FRAME_METHOD &&
        (f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD || f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD))
      die(close_reason(f.payload.method));
    return true;
  }

 private:
  amqp_connection_state_t c_;
};

// ---------------------------------------------------------------------------
// Publishing

// Unconfirmed delivery tags are [low, next). The broker may confirm them out
// of order and with multiple=true; `done` marks confirmed tags above `low`
// (a ring indexed by tag, larger than the window so live tags never collide).
class ConfirmTracker {
 public:
  explicit ConfirmTracker(int window) {
    size_t n = 1;
    while (n < size_t(window) + 1) n <<= 1;
    done_.assign(n, 0);
    mask_ = n - 1;
  }
  uint64_t outstanding() const { return next_ - low_; }
  uint64_t published() const { return next_ - 1; }
  uint64_t nacked() const { return nacked_; }
  void sent() { next_++; }
  void confirm(uint64_t tag, bool multiple, bool nack) {
    if (tag >= next_) die("broker confirmed delivery tag " + std::to_string(tag) + " that was never published");
    if (multiple) {
      for (uint64_t t = low_; t <= tag; t++) mark(t, nack);
    } else {
      if (tag < low_ || done_[tag & mask_]) die("broker confirmed delivery tag " + std::to_string(tag) + " twice");
      mark(tag, nack);
    }
    while (low_ < next_ && done_[low_ & mask_]) done_[low_++ & mask_] = 0;
  }

 private:
  void mark(uint64_t t, bool nack) {
    if (done_[t & mask_]) return;
    done_[t & mask_] = 1;
    if (nack) nacked_++;
  }
  std::vector<uint8_t> done_;
  uint64_t mask_ = 0;
  uint64_t low_ = 1, next_ = 1;
  uint64_t nacked_ = 0;
};

class Publisher {
 public:
  Publisher(const Options& o, Connection& c) : o_(o), c_(c), tracker_(o.confirm_window), body_(size_t(o.size), 'x') {
    std::memset(&props_, 0, sizeof props_);
    if (o.persistent) {
      props_._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
      props_.delivery_mode = 2;
    }
    if (o.confirm) {
      amqp_confirm_select(c.get(), 1);
      c.check("confirm.select");
    }
    if (o.batch > 1)
      frames_.emplace(1, amqp_empty_bytes, bytes(o.queue), props_, size_t(o.size), size_t(amqp_get_frame_max(c.get())));
  }

  // Publishes the next messages (sequence numbers published()+1, ...) to the
  // queue through the default exchange: at most `max` of them, at most
  // --batch, and no more than the confirm window has room for, waiting while
  // it is full. Returns how many were sent.
  uint64_t publish(uint64_t max) {
    if (o_.confirm) {
      // Handle confirms already here; block only when the window is full.
      if (o_.batch > 1 || (tracker_.published() & 63) == 0) read_confirms(0);
      while (tracker_.outstanding() >= uint64_t(o_.confirm_window)) read_confirms(-1);
    }
    uint64_t n = std::min<uint64_t>(max, uint64_t(o_.batch));
    if (o_.confirm) n = std::min<uint64_t>(n, uint64_t(o_.confirm_window) - tracker_.outstanding());
    if (n == 0) return 0;
    if (!frames_) {
      uint64_t seq = tracker_.published() + 1;
      int64_t now = mono_ns();
      std::memcpy(body_.data(), &seq, 8);
      std::memcpy(body_.data() + 8, &now, 8);
      int st = amqp_basic_publish(c_.get(), 1, amqp_empty_bytes, bytes(o_.queue), 0, 0, &props_,
                                  amqp_bytes_t{body_.size(), body_.data()});
      if (st != AMQP_STATUS_OK) die(std::string("basic.publish: ") + amqp_error_string2(st));
      tracker_.sent();
      return 1;
    }
    out_.clear();
    int64_t now = mono_ns();
    for (uint64_t i = 0; i < n; i++) {
      size_t at = frames_->append(out_);
      wharf_bench::PublishFrames::patch(out_, at, tracker_.published() + 1 + i, now);
    }
    if (int e = wharf_bench::write_all(amqp_get_sockfd(c_.get()), out_.data(), out_.size()))
      die(std::string("basic.publish: ") + std::strerror(e));
    for (uint64_t i = 0; i < n; i++) tracker_.sent();
    return n;
  }

  // Non-blocking with o.confirm: handles whatever confirms have arrived.
  void poll() {
    if (o_.confirm) read_confirms(0);
  }

  // Waits until every publish is confirmed (no-op without confirms).
  void finish() {
    while (o_.confirm && tracker_.outstanding() > 0) read_confirms(-1);
  }

  uint64_t published() const { return tracker_.published(); }
  uint64_t nacked() const { return tracker_.nacked(); }

 private:
  // Handles confirm frames: all that are already readable, waiting for the
  // first one if timeout_ms < 0.
  void read_confirms(int timeout_ms) {
    amqp_frame_t f;
    while (c_.next_frame(f, timeout_ms)) {
      timeout_ms = 0;
      if (f.frame_type != AMQP_FRAME_METHOD) continue;
      const amqp_method_t& m = f.payload.method;
      if (m.id == AMQP_BASIC_ACK_METHOD) {
        auto* a = static_cast<amqp_basic_ack_t*>(m.decoded);
        tracker_.confirm(a->delivery_tag, a->multiple, false);
      } else if (m.id == AMQP_BASIC_NACK_METHOD) {
        auto* n = static_cast<amqp_basic_nack_t*>(m.decoded);
        tracker_.confirm(n->delivery_tag, n->multiple, true);
      } else {
        die("publisher: " + close_reason(m));
      }
    }
    amqp_maybe_release_buffers(c_.get());
  }

  const Options& o_;
  Connection& c_;
  ConfirmTracker tracker_;
  std::vector<char> body_;
  amqp_basic_properties_t props_;
  std::optional<wharf_bench::PublishFrames> frames_;  // with --batch > 1
  std::vector<char> out_;                             // the batch being written
};

// ---------------------------------------------------------------------------
// Consuming

// Latencies in nanoseconds; percentiles by sorting at the end.
struct Histogram {
  std::vector<int64_t> ns;
  std::string summary() {
    if (ns.empty()) return "latency_us=n/a";
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) { return double(ns[std::min(ns.size() - 1, size_t(q * double(ns.size())))]) / 1e3; };
    char buf[200];
    std::snprintf(buf, sizeof buf, "latency_us p50=%.0f p99=%.0f p99.9=%.0f max=%.0f n=%zu", at(0.5), at(0.99),
                  at(0.999), double(ns.back()) / 1e3, ns.size());
    return buf;
  }
};

// Shared between the publishing main thread and the consumer thread.
struct Progress {
  std::atomic<bool> consuming{false};            // basic.consume-ok received
  std::atomic<uint64_t> total{UINT64_MAX};       // set when the publisher is done
  std::atomic<int64_t> measure_from{INT64_MAX};  // latency: only messages sent at or after this count
};

struct ConsumerResult {
  uint64_t consumed = 0, lost = 0, out_of_order = 0, redelivered = 0;
  int64_t last_ns = 0;  // when the last message arrived
  Histogram latency;
};

// Consumes until `total` messages have arrived in order, or until nothing has
// arrived for 10 s once the publisher is done (the rest counts as lost).
ConsumerResult consume(const Options& o, Progress& progress) {
  ConsumerResult r;
  Connection c(o);
  amqp_connection_state_t s = c.get();
  if (o.manual_ack) {
    amqp_basic_qos(s, 1, 0, uint16_t(o.prefetch), 0);
    c.check("basic.qos");
  }
  amqp_basic_consume(s, 1, bytes(o.queue), amqp_empty_bytes, 0, o.manual_ack ? 0 : 1, 0, amqp_empty_table);
  c.check("basic.consume");
  progress.consuming = true;

  uint64_t expect = 1;         // next sequence number
  uint64_t tag = 0;            // delivery tag of the message being read
  uint64_t last_tag = 0;       // of the last complete message
  uint64_t unacked = 0;        // deliveries since the last ack
  uint64_t body_left = 0;      // bytes of the current body still to come
  size_t head_len = 0;         // bytes of the current body's 16-byte head seen
  unsigned char head[16];
  int64_t idle_since = mono_ns();
  amqp_frame_t f;
  for (;;) {
    uint64_t total = progress.total.load(std::memory_order_relaxed);
    if (expect > total) break;  // the last message has come (any gaps before it are counted)
    if (!c.next_frame(f, 100)) {
      if (total != UINT64_MAX && mono_ns() - idle_since > 10'000'000'000) break;
      continue;
    }
    idle_since = mono_ns();
    if (f.frame_type == AMQP_FRAME_METHOD) {
      const amqp_method_t& m = f.payload.method;
      if (m.id != AMQP_BASIC_DELIVER_METHOD) die("consumer: " + close_reason(m));
      auto* d = static_cast<amqp_basic_deliver_t*>(m.decoded);
      tag = d->delivery_tag;
      if (d->redelivered) r.redelivered++;
      head_len = 0;
    } else if (f.frame_type == AMQP_FRAME_HEADER) {
      body_left = f.payload.properties.body_size;
      if (body_left < 16) die("consumer: a body of " + std::to_string(body_left) + " bytes is not ours");
    } else if (f.frame_type == AMQP_FRAME_BODY) {
      amqp_bytes_t b = f.payload.body_fragment;
      size_t take = std::min(b.len, sizeof head - head_len);
      std::memcpy(head + head_len, b.bytes, take);
      head_len += take;
      body_left -= std::min<uint64_t>(body_left, b.len);
      if (body_left == 0) {
        int64_t now = mono_ns();
        uint64_t seq;
        int64_t sent;
        std::memcpy(&seq, head, 8);
        std::memcpy(&sent, head + 8, 8);
        if (seq < expect) {
          r.out_of_order++;  // a duplicate, or a late one already counted as lost
        } else {
          r.lost += seq - expect;  // a gap: the ones in between never came (before this one)
          expect = seq + 1;
          r.consumed++;
        }
        if (sent >= progress.measure_from.load(std::memory_order_relaxed)) r.latency.ns.push_back(now - sent);
        r.last_ns = now;
        if (o.manual_ack && ++unacked >= uint64_t(o.ack_every)) {
          if (amqp_basic_ack(s, 1, tag, 1) != AMQP_STATUS_OK) die("basic.ack failed");  // all up to tag
          unacked = 0;
        }
        last_tag = tag;
        amqp_maybe_release_buffers(s);
      }
    }
  }
  if (o.manual_ack && unacked > 0 && amqp_basic_ack(s, 1, last_tag, 1) != AMQP_STATUS_OK) die("basic.ack failed");
  uint64_t total = progress.total.load();
  // Messages never seen at all after the last one that came.
  if (expect <= total) r.lost += total - expect + 1;
  return r;
}

// Prints the correctness counters and says whether all is well.
bool verdict(const Publisher& p, const ConsumerResult& r) {
  std::printf(" lost=%" PRIu64 " out_of_order=%" PRIu64 " redelivered=%" PRIu64 " nacked=%" PRIu64, r.lost,
              r.out_of_order, r.redelivered, p.nacked());
  return r.lost == 0 && r.out_of_order == 0 && r.redelivered == 0 && p.nacked() == 0 && r.consumed == p.published();
}

std::string flags(const Options& o) {
  std::string s = o.persistent ? "persistent" : "transient";
  s += o.durable ? ",durable" : ",nondurable";
  s += o.confirm ? ",confirm=" + std::to_string(o.confirm_window) : ",noconfirm";
  s += o.manual_ack ? ",ack_every=" + std::to_string(o.ack_every) + ",prefetch=" + std::to_string(o.prefetch)
                    : ",noack";
  s += ",batch=" + std::to_string(o.batch);
  return s;
}

// Sleeps until CLOCK_MONOTONIC reaches due_ns (sleeping, not spinning: on two
// cores a spinning client steals the broker's CPU).
void sleep_until(int64_t due_ns) {
  timespec ts{time_t(due_ns / 1'000'000'000), long(due_ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

int run_flow(const Options& o) {
  bool latency = o.mode == "latency";
  Connection pc(o);
  pc.declare_queue(o.queue, o.durable);
  pc.purge(o.queue);
  Publisher pub(o, pc);

  Progress progress;
  if (!latency) progress.measure_from = INT64_MAX;  // throughput: no latency figures
  ConsumerResult res;
  std::thread consumer([&] { res = consume(o, progress); });
  while (!progress.consuming) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  int64_t t0 = mono_ns();
  int64_t t_pub_end;
  if (latency) {
    // Default timer slack (50 us) would blur a 100 us send interval.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    progress.measure_from = t0 + int64_t(o.warmup * 1e9);
    int64_t end = t0 + int64_t((o.warmup + o.seconds) * 1e9);
    for (uint64_t i = 0;; i++) {
      int64_t due = t0 + int64_t(double(i) * 1e9 / double(o.rate));
      if (due >= end) break;
      if (mono_ns() < due) {
        pub.poll();
        sleep_until(due);
      }
      pub.publish(1);
    }
    pub.finish();
    t_pub_end = mono_ns();
  } else {
    int64_t end = o.messages > 0 ? INT64_MAX : t0 + int64_t(o.seconds * 1e9);
    uint64_t limit = o.messages > 0 ? uint64_t(o.messages) : UINT64_MAX;
    uint64_t checked = 0;
    while (pub.published() < limit) {
      pub.publish(limit - pub.published());
      if (pub.published() - checked >= 256) {
        checked = pub.published();
        if (mono_ns() >= end) break;
      }
    }
    pub.finish();
    t_pub_end = mono_ns();
  }
  progress.total = pub.published();
  consumer.join();

  double pub_s = double(t_pub_end - t0) / 1e9, con_s = double(res.last_ns - t0) / 1e9;
  std::printf("%s %s size=%d published=%" PRIu64 " consumed=%" PRIu64 " published/s=%.0f consumed/s=%.0f", o.mode.c_str(),
              flags(o).c_str(), o.size, pub.published(), res.consumed, double(pub.published()) / pub_s,
              double(res.consumed) / con_s);
  if (latency) std::printf(" rate=%ld %s", o.rate, res.latency.summary().c_str());
  bool ok = verdict(pub, res);
  std::printf("\n");
  std::fflush(stdout);
  if (!o.keep) pc.delete_queue(o.queue);
  if (!ok) die("message accounting failed (see the line above)");
  return 0;
}

long rss_kb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  die("no VmRSS for pid " + std::to_string(pid));
}

int run_fill(const Options& o) {
  Connection c(o);
  c.declare_queue(o.queue, o.durable);
  c.purge(o.queue);
  long before = o.pid ? rss_kb(o.pid) : 0;
  Publisher pub(o, c);
  int64_t t0 = mono_ns();
  while (pub.published() < uint64_t(o.messages)) pub.publish(uint64_t(o.messages) - pub.published());
  pub.finish();
  double s = double(mono_ns() - t0) / 1e9;
  long after = o.pid ? rss_kb(o.pid) : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(int64_t(o.settle * 1000)));
  long settled = o.pid ? rss_kb(o.pid) : 0;
  uint32_t queued = c.declare_queue(o.queue, o.durable, true);
  std::printf("fill %s size=%d messages=%ld seconds=%.3f published/s=%.0f queued=%u rss_kb_before=%ld "
              "rss_kb_filled=%ld rss_kb_settled=%ld nacked=%" PRIu64 "\n",
              flags(o).c_str(), o.size, o.messages, s, double(o.messages) / s, queued, before, after, settled,
              pub.nacked());
  std::fflush(stdout);
  if (!o.keep) c.delete_queue(o.queue);
  if (queued != uint64_t(o.messages) || pub.nacked() != 0) die("the queue does not hold every message published");
  return 0;
}

// Publishes one message to each of `probes` evenly spread queues through the
// exchange and gets it back, proving the bindings route.
void check_bindings(const Options& o, Connection& c, const std::string& prefix, int probes) {
  amqp_connection_state_t s = c.get();
  for (int k = 0; k < probes; k++) {
    std::string q = prefix + std::to_string(int64_t(k) * o.queues / probes);
    if (amqp_basic_publish(s, 1, bytes(o.exchange), bytes(q), 0, 0, nullptr, bytes(q)) != AMQP_STATUS_OK)
      die("basic.publish failed");
    amqp_rpc_reply_t r;
    // A publish has no reply; poll with basic.get until routing is done.
    for (int tries = 0;; tries++) {
      r = amqp_basic_get(s, 1, bytes(q), 1);
      Connection::check(r, "basic.get");
      if (r.reply.id == AMQP_BASIC_GET_OK_METHOD) break;
      if (tries == 1000) die("binding check: nothing routed to " + q);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    amqp_message_t m;
    Connection::check(amqp_read_message(s, 1, &m, 0), "reading a basic.get message");
    if (str(m.body) != q) die("binding check: " + q + " got \"" + str(m.body) + "\"");
    amqp_destroy_message(&m);
    amqp_maybe_release_buffers(s);
  }
}

int run_declare(const Options& o) {
  Connection c(o);
  amqp_connection_state_t s = c.get();
  const std::string prefix = o.queue + "-";
  int64_t t0 = mono_ns();
  if (o.declare_exchange) {
    amqp_exchange_declare(s, 1, bytes(o.exchange), amqp_cstring_bytes("direct"), 0, o.durable, 0, 0, amqp_empty_table);
    c.check("exchange.declare");
  }
  for (int i = 0; i < o.queues; i++) {
    std::string q = prefix + std::to_string(i);
    amqp_queue_declare(s, 1, bytes(q), 0, o.durable, 0, 0, amqp_empty_table);
    c.check("queue.declare");
    amqp_queue_bind(s, 1, bytes(q), bytes(o.exchange), bytes(q), amqp_empty_table);
    c.check("queue.bind");
    if ((i & 255) == 0) amqp_maybe_release_buffers(s);
  }
  double secs = double(mono_ns() - t0) / 1e9;
  check_bindings(o, c, prefix, 16);
  std::printf("declare queues=%d exchange=%s%s durable=%d seconds=%.3f declares+binds/s=%.0f\n", o.queues,
              o.exchange.c_str(), o.declare_exchange ? "(declared)" : "", o.durable ? 1 : 0, secs,
              double(o.queues) / secs);
  std::fflush(stdout);
  if (!o.keep) {
    int64_t d0 = mono_ns();
    for (int i = 0; i < o.queues; i++) {
      c.delete_queue(prefix + std::to_string(i));
      if ((i & 255) == 0) amqp_maybe_release_buffers(s);
    }
    if (o.declare_exchange) {
      amqp_exchange_delete(s, 1, bytes(o.exchange), 0);
      c.check("exchange.delete");
    }
    std::printf("declare cleanup_seconds=%.3f\n", double(mono_ns() - d0) / 1e9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.mode == "fill") return run_fill(o);
  if (o.mode == "declare") return run_declare(o);
  return run_flow(o);
}
