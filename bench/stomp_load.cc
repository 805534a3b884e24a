// wharf-stomp-load: a STOMP 1.2 load generator on plain POSIX sockets.
//
// Any STOMP 1.2 broker will do; bench/stomp_bench.sh runs it against Wharf and
// against an ActiveMQ it starts itself, with the same options. Each run prints
// one line of `key=value` figures; the exit status is non-zero when a message
// was lost, duplicated, reordered or redelivered, or the broker sent an ERROR
// frame (printed) or closed a connection.
//
// One producer connection (main thread) and one consumer connection (own
// thread) on one queue destination (default /queue/wharf-bench-MODE). Modes:
//   transient   SEND without `persistent`, pipelined (--batch frames per
//               send(2), no receipts); subscription with ack:auto.
//   persistent  SEND with `persistent:true`; every --receipt-every'th SEND
//               (and the last) asks for a receipt, and the producer never has
//               more than --window messages past the last receipt it got
//               (defaults 100 and 1000: at most 10 receipts outstanding, like
//               the AMQP bench's confirm window of 1000). The subscription
//               uses ack:client, prefetch --prefetch (sent as ActiveMQ's
//               `activemq.prefetchSize` header), and the consumer sends a
//               cumulative ACK (STOMP 1.2: `id` = the MESSAGE's `ack` header)
//               every --ack-every (100) messages and for the last one.
//   latency     transient, ack:auto, one SEND per send(2) at a fixed --rate
//               (10,000/s); end-to-end latency percentiles in ms.
// --ack, --receipt-every, --window and --batch override a mode's defaults;
// under --ack client-individual every message gets its own ACK (written
// --ack-every at a time).
//
// Both throughput modes first send --warmup messages and wait until they are
// consumed, then time --count messages: consumed/s is count over the time
// from the first timed SEND to the arrival of the last message. The latency
// mode paces its warm-up too (default 2 s of messages) and then measures
// --count messages (default 10 s worth).
//
// Every body starts with 40 ASCII characters: the run id (8 hex digits), the
// sequence number (16 hex digits, 1, 2, 3, ... over warm-up and timed
// messages) and the CLOCK_MONOTONIC time in ns just before its send(2) (taken
// once per batch; 16 hex digits); the rest is 'x'. ASCII keeps the body valid UTF-8
// for brokers that map STOMP bodies to JMS text. One producer, one queue and
// one consumer without requeues means the broker must deliver in order, so the
// consumer counts gaps (lost), going backwards (out_of_order) and
// `redelivered:true` headers. Messages of another run (left in a reused
// destination) count as `stale` and are skipped, not failed.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "stomp_wire.h"

namespace {

using wharf_bench::stomp::FrameReader;
using wharf_bench::stomp::FrameView;

struct Options {
  std::string host = "127.0.0.1";
  int port = 61613;
  std::string login = "guest", passcode = "guest", vhost = "/";
  std::string mode = "transient";
  std::string dest;       // default /queue/wharf-bench-<mode>
  int size = 100;
  long count = 0;         // timed messages; default by mode
  long warmup = -1;       // messages before timing; default by mode
  int batch = -1;         // SEND frames per send(2); default 100, latency 1
  bool persistent = false;
  int receipt_every = -1; // 0 = no receipts; default 100 when persistent
  int window = 1000;      // messages past the last receipt
  std::string ack;        // auto | client | client-individual; default by mode
  int ack_every = 100;
  int prefetch = 1000;    // activemq.prefetchSize with client acks; 0 = not sent
  long rate = 10000;      // latency: messages/s
  double stall = 30;      // seconds without progress before giving up
};

std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The consumer thread may fail too: print, flush, and leave without running
// destructors under the other thread's feet.
[[noreturn]] void die(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "wharf-stomp-load: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void usage() {
  std::puts(
      "usage: wharf-stomp-load [--host H] [--port P] [--login L] [--passcode P] [--vhost V]\n"
      "         [--mode transient|persistent|latency] [--dest /queue/NAME] [--size BYTES]\n"
      "         [--count N] [--warmup N] [--batch N] [--persistent]\n"
      "         [--receipt-every N] [--window N] [--ack auto|client|client-individual]\n"
      "         [--ack-every K] [--prefetch N] [--rate MSG_PER_S] [--stall SECONDS]\n"
      "Defaults: transient = no persistence, ack:auto, batch 100, count 200000, warmup 20000;\n"
      "persistent = persistent:true, receipt every 100 (window 1000), ack:client every 100,\n"
      "prefetch 1000; latency = transient at --rate 10000, warmup 2 s, count 10 s of messages.\n"
      "Prints one line of key=value figures; exits 1 on any lost, duplicated, reordered or\n"
      "redelivered message, ERROR frame or closed connection.");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    try {
      if (a == "--host") o.host = val();
      else if (a == "--port") o.port = std::stoi(val());
      else if (a == "--login") o.login = val();
      else if (a == "--passcode") o.passcode = val();
      else if (a == "--vhost") o.vhost = val();
      else if (a == "--mode") o.mode = val();
      else if (a == "--dest") o.dest = val();
      else if (a == "--size") o.size = std::stoi(val());
      else if (a == "--count") o.count = std::stol(val());
      else if (a == "--warmup") o.warmup = std::stol(val());
      else if (a == "--batch") o.batch = std::stoi(val());
      else if (a == "--persistent") o.persistent = true;
      else if (a == "--receipt-every") o.receipt_every = std::stoi(val());
      else if (a == "--window") o.window = std::stoi(val());
      else if (a == "--ack") o.ack = val();
      else if (a == "--ack-every") o.ack_every = std::stoi(val());
      else if (a == "--prefetch") o.prefetch = std::stoi(val());
      else if (a == "--rate") o.rate = std::stol(val());
      else if (a == "--stall") o.stall = std::stod(val());
      else if (a == "--help" || a == "-h") { usage(); std::exit(0); }
      else die("unknown option " + a);
    } catch (const std::logic_error&) {
      die("bad value for " + a);
    }
  }
  const bool latency = o.mode == "latency";
  if (o.mode == "persistent") {
    o.persistent = true;
    if (o.ack.empty()) o.ack = "client";
  } else if (o.mode != "transient" && !latency) {
    die("bad --mode " + o.mode);
  }
  if (o.ack.empty()) o.ack = "auto";
  if (o.ack != "auto" && o.ack != "client" && o.ack != "client-individual") die("bad --ack " + o.ack);
  if (o.receipt_every < 0) o.receipt_every = o.persistent ? 100 : 0;
  if (o.batch < 0) o.batch = latency ? 1 : 100;
  if (latency && o.rate <= 0) die("--rate must be positive");
  if (o.count <= 0) o.count = latency ? o.rate * 10 : 200'000;
  if (o.warmup < 0) o.warmup = latency ? o.rate * 2 : std::min<long>(o.count / 10, 50'000);
  if (o.size < 40) die("--size must be at least 40 (run id, sequence number and time stamp)");
  if (o.batch < 1) die("--batch must be at least 1");
  if (o.ack_every < 1) die("--ack-every must be at least 1");
  // With fewer receipts in the window than one, the producer would wait for a
  // receipt it never asked for.
  if (o.receipt_every > 0 && o.window < o.receipt_every) die("--window must be >= --receipt-every");
  // The consumer acks every K messages; a prefetch below K would stall it.
  if (o.ack != "auto" && o.prefetch > 0 && o.prefetch < o.ack_every) die("--prefetch must be >= --ack-every (or 0)");
  if (o.dest.empty()) o.dest = "/queue/wharf-bench-" + o.mode;
  return o;
}

// ---------------------------------------------------------------------------
// Connections

// Header values as they appear on the wire, unescaped for display.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'c' ? ':' : c;
  }
  return out;
}

// Dies with an ERROR frame's `message` header and the start of its body
// (ActiveMQ puts a Java stack trace there; its first lines are enough).
[[noreturn]] void die_on_error_frame(const char* role, const FrameView& f) {
  std::string msg = "ERROR frame on the " + std::string(role) + " connection";
  if (auto m = f.header("message")) msg += ": " + unescape(*m);
  std::string_view body = f.body;
  size_t cut = 0;
  for (int lines = 0; cut < body.size() && lines < 3; lines++) {
    size_t nl = body.find('\n', cut);
    cut = nl == std::string_view::npos ? body.size() : nl + 1;
  }
  if (!body.empty()) msg += "\n  " + std::string(body.substr(0, std::min<size_t>(cut, 600)));
  die(msg);
}

// One STOMP 1.2 connection: TCP connect, CONNECT/CONNECTED, then frames.
// next() hands out every frame but ERROR, which ends the process with its
// text. Not thread-safe; each thread owns its own Connection.
class Connection {
 public:
  Connection(const Options& o, const char* role) : role_(role), reader_(-1) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(o.port);
    if (int e = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res))
      die(o.host + ":" + port + ": " + gai_strerror(e));
    int err = 0;
    for (addrinfo* a = res; a; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      err = errno;
      ::close(fd_);
      fd_ = -1;
    }
    freeaddrinfo(res);
    if (fd_ < 0) die("connect " + o.host + ":" + port + ": " + std::strerror(err));
    int one = 1;  // a paced SEND or an ACK must not wait for Nagle
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    reader_ = FrameReader(fd_);

    // CONNECT headers are never escaped. No heart-beats: nothing here reads
    // a socket on a timer, and a blocked producer must not be dropped.
    std::string out;
    if (o.login.empty()) {
      wharf_bench::stomp::append_frame(out, "CONNECT", {{"accept-version", "1.2"}, {"host", o.vhost},
                                                        {"heart-beat", "0,0"}});
    } else {
      wharf_bench::stomp::append_frame(out, "CONNECT", {{"accept-version", "1.2"}, {"host", o.vhost},
                                                        {"login", o.login}, {"passcode", o.passcode},
                                                        {"heart-beat", "0,0"}});
    }
    send(out);
    FrameView f;
    if (!next(f, int(o.stall * 1000))) die(std::string(role_) + ": no CONNECTED frame");
    if (f.command != "CONNECTED") die(std::string(role_) + ": expected CONNECTED, got " + std::string(f.command));
    auto v = f.header("version");
    if (!v || *v != "1.2")
      die(std::string(role_) + ": the broker chose STOMP " + std::string(v ? *v : "1.0") + "; this tool speaks 1.2");
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The next frame within timeout_ms (< 0: forever; 0: only what has
  // arrived); false on timeout. An ERROR frame, a closed connection or a
  // malformed frame ends the process.
  bool next(FrameView& f, int timeout_ms) {
    FrameReader::Status st = reader_.next(f, timeout_ms);
    if (st == FrameReader::Status::kTimeout) return false;
    if (st != FrameReader::Status::kFrame) die(std::string(role_) + " connection: " + reader_.error);
    if (f.command == "ERROR") die_on_error_frame(role_, f);
    return true;
  }

  // Writes bytes; when the broker has closed the connection, shows the ERROR
  // frame it sent before closing, if any.
  void send(const std::string& bytes) { send(bytes.data(), bytes.size()); }
  void send(const char* data, size_t len) {
    int e = wharf_bench::stomp::write_all(fd_, data, len);
    if (e == 0) return;
    FrameView f;
    while (next(f, 2000)) {
    }
    die(std::string(role_) + " connection: send: " + std::strerror(e));
  }

  // DISCONNECT with a receipt, and waits for it: every frame sent before has
  // then been processed. Returns how many MESSAGE frames came meanwhile.
  uint64_t disconnect(int timeout_ms) {
    std::string out;
    wharf_bench::stomp::append_frame(out, "DISCONNECT", {{"receipt", "bye"}});
    send(out);
    uint64_t messages = 0;
    FrameView f;
    int64_t deadline = mono_ns() + int64_t(timeout_ms) * 1'000'000;
    for (;;) {
      int left = int((deadline - mono_ns()) / 1'000'000);
      if (left <= 0 || !next(f, left)) die(std::string(role_) + ": no RECEIPT for DISCONNECT");
      if (f.command == "MESSAGE") messages++;
      if (f.command == "RECEIPT" && f.header("receipt-id") == "bye") return messages;
    }
  }

  const char* role() const { return role_; }

 private:
  const char* role_;
  int fd_ = -1;
  FrameReader reader_;
};

// ---------------------------------------------------------------------------
// Bodies

constexpr size_t kHeadLen = 40;  // run id (8) + sequence (16) + time (16), hex

void put_hex(char* p, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--) {
    p[i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
}
bool get_hex(const char* p, int digits, uint64_t& v) {
  v = 0;
  for (int i = 0; i < digits; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | uint64_t(d);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Producing

// Encodes and sends SEND frames with sequence numbers 1, 2, 3, ... and keeps
// the receipt window: receipted_ is the highest sequence number a RECEIPT
// covers (a receipt is cumulative: STOMP processes a connection's frames in
// order), sent_ - receipted_ never exceeds --window.
class Producer {
 public:
  Producer(const Options& o, Connection& c, uint32_t run_id) : o_(o), c_(c) {
    prefix_ = "SEND\ndestination:" + wharf_bench::stomp::escape(o.dest) + "\n";
    if (o.persistent) prefix_ += "persistent:true\n";
    prefix_ += "content-length:" + std::to_string(o.size) + "\n";
    body_.assign(size_t(o.size), 'x');
    put_hex(body_.data(), run_id, 8);
  }

  // Sends up to sequence number `upto` as fast as the window allows, --batch
  // frames per send(2); the last one asks for a receipt when receipts are on.
  void send_until(uint64_t upto) {
    while (sent_ < upto) {
      uint64_t n = std::min<uint64_t>(upto - sent_, uint64_t(o_.batch));
      if (o_.receipt_every > 0) {
        while (sent_ - receipted_ >= uint64_t(o_.window)) read_incoming(int(o_.stall * 1000), true);
        n = std::min<uint64_t>(n, uint64_t(o_.window) - (sent_ - receipted_));
      }
      out_.clear();
      int64_t now = mono_ns();
      for (uint64_t i = 0; i < n; i++) encode(sent_ + 1 + i, now, upto);
      c_.send(out_);
      sent_ += n;
      read_incoming(0, false);  // receipts, or an ERROR, that have arrived
    }
  }

  // Sends sequence number sent_+1 alone (latency mode).
  void send_one(uint64_t last) {
    out_.clear();
    encode(sent_ + 1, mono_ns(), last);
    c_.send(out_);
    sent_++;
  }

  // Waits until the last message sent is covered by a receipt (no-op without
  // receipts), then handles whatever else arrived.
  void wait_receipts() {
    while (o_.receipt_every > 0 && receipted_ < sent_) read_incoming(int(o_.stall * 1000), true);
    read_incoming(0, false);
  }

  void poll() { read_incoming(0, false); }

  uint64_t sent() const { return sent_; }
  uint64_t receipts() const { return receipts_; }

 private:
  void encode(uint64_t seq, int64_t now, uint64_t last) {
    out_ += prefix_;
    if (o_.receipt_every > 0 && (seq % uint64_t(o_.receipt_every) == 0 || seq == last)) {
      out_ += "receipt:";
      out_ += std::to_string(seq);
      out_ += '\n';
    }
    out_ += '\n';
    size_t at = out_.size();
    out_ += body_;
    put_hex(&out_[at + 8], seq, 16);
    put_hex(&out_[at + 24], uint64_t(now), 16);
    out_ += '\0';
  }

  // Handles frames on the producer connection: RECEIPTs move the window; an
  // ERROR ends the process (in Connection::next). With `must`, waits up to
  // timeout_ms for the first frame and dies if none comes.
  void read_incoming(int timeout_ms, bool must) {
    FrameView f;
    bool got = false;
    while (c_.next(f, got ? 0 : timeout_ms)) {
      got = true;
      if (f.command != "RECEIPT") die("producer: unexpected " + std::string(f.command) + " frame");
      auto id = f.header("receipt-id");
      uint64_t seq = 0;
      if (!id || id->empty() || id->size() > 19) die("producer: RECEIPT without a receipt-id of ours");
      for (char ch : *id) {
        if (ch < '0' || ch > '9') die("producer: RECEIPT for unknown receipt-id " + std::string(*id));
        seq = seq * 10 + uint64_t(ch - '0');
      }
      if (seq > sent_) die("producer: RECEIPT for a SEND never made: " + std::string(*id));
      receipted_ = std::max(receipted_, seq);
      receipts_++;
    }
    if (must && !got)
      die("producer: no RECEIPT for " + secs(o_.stall) + " (sent " + std::to_string(sent_) +
          ", receipted up to " + std::to_string(receipted_) + ")");
  }

  const Options& o_;
  Connection& c_;
  std::string prefix_;  // SEND frame up to and including content-length
  std::string body_;    // run id in place; sequence and time patched per message
  std::string out_;     // frames of one send(2)
  uint64_t sent_ = 0, receipted_ = 0, receipts_ = 0;
};

// ---------------------------------------------------------------------------
// Consuming

// Shared between the producing main thread and the consumer thread.
struct Progress {
  std::atomic<bool> subscribed{false};              // RECEIPT for SUBSCRIBE came
  std::atomic<uint64_t> in_order{0};                // highest sequence number consumed
  std::atomic<uint64_t> total{UINT64_MAX};          // set when the producer is done
  std::atomic<uint64_t> measure_from{UINT64_MAX};   // latency: sequence numbers measured
};

struct ConsumerResult {
  uint64_t consumed = 0, lost = 0, out_of_order = 0, redelivered = 0, stale = 0, after = 0, acks = 0;
  int64_t last_ns = 0;  // when the last message arrived
  std::vector<int64_t> latency_ns;
};

ConsumerResult consume(const Options& o, uint32_t run_id, Progress& progress) {
  ConsumerResult r;
  Connection c(o, "consumer");
  const bool client_ack = o.ack != "auto";
  if (o.mode == "latency") r.latency_ns.reserve(size_t(o.count));

  std::string out;
  std::string dest = wharf_bench::stomp::escape(o.dest);
  std::string prefetch = std::to_string(o.prefetch);
  if (client_ack && o.prefetch > 0) {
    wharf_bench::stomp::append_frame(out, "SUBSCRIBE", {{"id", "0"}, {"destination", dest}, {"ack", o.ack},
                                                        {"activemq.prefetchSize", prefetch}, {"receipt", "sub"}});
  } else {
    wharf_bench::stomp::append_frame(out, "SUBSCRIBE",
                                     {{"id", "0"}, {"destination", dest}, {"ack", o.ack}, {"receipt", "sub"}});
  }
  c.send(out);

  char run_hex[8];
  put_hex(run_hex, run_id, 8);
  uint64_t expect = 1;      // next sequence number
  // ack:client is cumulative: one ACK (for the last message) every K. Under
  // client-individual each message needs its own ACK; they are written K at
  // a time. Either way at most K-1 messages wait, and an idle spell flushes.
  const bool individual = o.ack == "client-individual";
  uint64_t unacked = 0;     // messages since the last ACK was written
  std::string last_ack;     // `ack` header of the last message (escaped, as on the wire)
  std::string acks_out;     // pending ACK frames (client-individual)
  const int64_t stall_ns = int64_t(o.stall * 1e9);
  int64_t idle_since = mono_ns();
  auto send_ack = [&] {
    if (individual) {
      c.send(acks_out);
      acks_out.clear();
    } else {
      out.clear();
      wharf_bench::stomp::append_frame(out, "ACK", {{"id", last_ack}});
      c.send(out);
      r.acks++;
    }
    unacked = 0;
  };

  FrameView f;
  for (;;) {
    uint64_t total = progress.total.load(std::memory_order_relaxed);
    if (expect > total) break;  // the last message has come (gaps before it are counted)
    if (!c.next(f, 100)) {
      if (client_ack && unacked > 0) send_ack();  // nothing more is coming for now
      if (total != UINT64_MAX && mono_ns() - idle_since > stall_ns) break;
      continue;
    }
    int64_t now = mono_ns();
    idle_since = now;
    if (f.command == "RECEIPT") {
      if (f.header("receipt-id") == "sub") progress.subscribed = true;
      continue;
    }
    if (f.command != "MESSAGE") die("consumer: unexpected " + std::string(f.command) + " frame");
    if (client_ack) {
      auto a = f.header("ack");
      if (!a) die("consumer: MESSAGE without an ack header under ack:" + o.ack);
      if (individual) {
        wharf_bench::stomp::append_frame(acks_out, "ACK", {{"id", *a}});
        r.acks++;
      } else {
        last_ack.assign(a->data(), a->size());
      }
    }
    const std::string_view b = f.body;
    uint64_t seq = 0, sent = 0;
    if (b.size() < kHeadLen || std::memcmp(b.data(), run_hex, 8) != 0 || !get_hex(b.data() + 8, 16, seq) ||
        !get_hex(b.data() + 24, 16, sent)) {
      r.stale++;  // not this run's (an earlier run's leftovers)
    } else {
      if (f.header("redelivered") == "true") r.redelivered++;
      if (seq < expect) {
        r.out_of_order++;  // a duplicate, or a late one already counted as lost
      } else {
        r.lost += seq - expect;
        expect = seq + 1;
        r.consumed++;
        progress.in_order.store(seq, std::memory_order_relaxed);
      }
      if (seq >= progress.measure_from.load(std::memory_order_relaxed)) r.latency_ns.push_back(now - int64_t(sent));
      r.last_ns = now;
    }
    if (client_ack && ++unacked >= uint64_t(o.ack_every)) send_ack();
  }
  if (client_ack && unacked > 0) send_ack();
  uint64_t total = progress.total.load();
  if (expect <= total) r.lost += total - expect + 1;  // never seen after the last that came
  r.after = c.disconnect(int(o.stall * 1000));
  return r;
}

// ---------------------------------------------------------------------------

// Sleeps until CLOCK_MONOTONIC reaches due_ns (sleeping, not spinning: on two
// cores a spinning client steals the broker's CPU).
void sleep_until(int64_t due_ns) {
  timespec ts{time_t(due_ns / 1'000'000'000), long(due_ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// Sends sequence numbers up to `upto` at o.rate starting at t0; returns the
// largest lag behind schedule (ns).
int64_t send_paced(const Options& o, Producer& p, uint64_t upto, int64_t t0) {
  int64_t worst = 0;
  uint64_t first = p.sent();
  for (uint64_t i = 0; p.sent() < upto; i++) {
    int64_t due = t0 + int64_t(double(i) * 1e9 / double(o.rate));
    int64_t now = mono_ns();
    if (now < due) {
      if (((p.sent() - first) & 1023) == 0) p.poll();
      sleep_until(due);
    } else {
      worst = std::max(worst, now - due);
    }
    p.send_one(upto);
  }
  return worst;
}

void wait_consumed(const Options& o, const Progress& progress, uint64_t seq, const char* what) {
  int64_t deadline = mono_ns() + int64_t(o.stall * 1e9);
  uint64_t seen = progress.in_order.load();
  while (seen < seq) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    uint64_t now_seen = progress.in_order.load();
    if (now_seen != seen) deadline = mono_ns() + int64_t(o.stall * 1e9);
    seen = now_seen;
    if (mono_ns() > deadline)
      die(std::string(what) + ": consumed up to " + std::to_string(seen) + " of " + std::to_string(seq) +
          ", nothing more for " + secs(o.stall));
  }
}

std::string flags(const Options& o) {
  std::string s = o.persistent ? "persistent" : "nonpersistent";
  if (o.receipt_every > 0)
    s += ",receipt_every=" + std::to_string(o.receipt_every) + ",window=" + std::to_string(o.window);
  s += ",ack=" + o.ack;
  if (o.ack != "auto")
    s += ",ack_every=" + std::to_string(o.ack_every) + ",prefetch=" + std::to_string(o.prefetch);
  s += ",batch=" + std::to_string(o.batch);
  return s;
}

std::string latency_summary(std::vector<int64_t>& ns) {
  if (ns.empty()) return "p50_ms=n/a p99_ms=n/a p99.9_ms=n/a max_ms=n/a n=0";
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return double(ns[std::min(ns.size() - 1, size_t(q * double(ns.size())))]) / 1e6; };
  char buf[200];
  std::snprintf(buf, sizeof buf, "p50_ms=%.3f p99_ms=%.3f p99.9_ms=%.3f max_ms=%.3f n=%zu", at(0.5), at(0.99),
                at(0.999), double(ns.back()) / 1e6, ns.size());
  return buf;
}

int run(const Options& o) {
  const bool latency = o.mode == "latency";
  const uint32_t run_id = uint32_t(uint64_t(mono_ns()) ^ (uint64_t(getpid()) << 16));
  const uint64_t warm = uint64_t(o.warmup), last = uint64_t(o.warmup + o.count);

  Progress progress;
  ConsumerResult res;
  std::thread consumer([&] { res = consume(o, run_id, progress); });
  Connection pc(o, "producer");
  Producer pub(o, pc, run_id);
  // Queues keep messages for absent consumers, but waiting for the
  // subscription's receipt keeps the first timings free of its set-up.
  for (int64_t deadline = mono_ns() + int64_t(o.stall * 1e9); !progress.subscribed;) {
    if (mono_ns() > deadline) die("consumer: no RECEIPT for SUBSCRIBE");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  if (latency) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // default 50 us slack would blur a 100 us interval
    send_paced(o, pub, warm, mono_ns());
  } else {
    pub.send_until(warm);
    pub.wait_receipts();
  }
  wait_consumed(o, progress, warm, "warm-up");

  if (latency) progress.measure_from = warm + 1;
  const int64_t t0 = mono_ns();
  int64_t lag = 0;
  if (latency) {
    lag = send_paced(o, pub, last, t0);
  } else {
    pub.send_until(last);
  }
  pub.wait_receipts();
  const int64_t t_pub_end = mono_ns();
  progress.total = last;
  consumer.join();
  pc.disconnect(int(o.stall * 1000));

  const uint64_t timed = res.consumed > warm ? res.consumed - warm : 0;
  const double pub_s = double(t_pub_end - t0) / 1e9, con_s = double(res.last_ns - t0) / 1e9;
  std::printf("%s dest=%s %s size=%d count=%ld warmup=%ld seconds=%.3f published/s=%.0f consumed/s=%.0f", o.mode.c_str(),
              o.dest.c_str(), flags(o).c_str(), o.size, o.count, o.warmup, con_s, double(o.count) / pub_s,
              con_s > 0 ? double(timed) / con_s : 0.0);
  if (latency)
    std::printf(" rate=%ld %s max_send_lag_ms=%.3f", o.rate, latency_summary(res.latency_ns).c_str(), double(lag) / 1e6);
  std::printf(" receipts=%" PRIu64 " acks=%" PRIu64 " lost=%" PRIu64 " out_of_order=%" PRIu64 " redelivered=%" PRIu64
              " stale=%" PRIu64 " after_end=%" PRIu64 "\n",
              pub.receipts(), res.acks, res.lost, res.out_of_order, res.redelivered, res.stale, res.after);
  std::fflush(stdout);
  if (res.lost || res.out_of_order || res.redelivered || res.consumed != last)
    die("message accounting failed (see the line above)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run(parse(argc, argv)); }
