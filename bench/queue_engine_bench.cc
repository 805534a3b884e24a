// In-process figures for the queue engine (no network, no protocol): how
// fast it stores and hands out 100-byte messages, and how much memory a
// backlog costs. Usage: wharf-queue-bench [DIR] [MESSAGES]
//
//   backlog     publish MESSAGES transient messages into a durable queue, then
//               consume them with prefetch 1000 and per-message acks; RSS
//               before and after (the backlog must not show in it)
//   persistent  persistent messages with confirms through the shard Flusher
//               (group-committed fdatasync), consumed and acked as they come
//   selectors   MESSAGES/5 transient messages, a backlog consumed by two
//               consumers with complementary JMS selectors (color = 'red' /
//               'blue'), 1 in 100 messages matching neither: those pile up
//               behind the cursor to the pass-over limit (2,000), so every
//               scan runs along a full set of held messages
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "broker/flusher.h"
#include "broker/queue/queue.h"
#include "broker/selector/selector.h"

using namespace wharf;
using namespace wharf::broker;
using namespace wharf::broker::queue;
using Clock = std::chrono::steady_clock;

namespace {

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

Message make(bool persistent) {
  Message m;
  m.routing_key = "bench";
  m.props.delivery_mode = persistent ? kDeliveryModePersistent : kDeliveryModeTransient;
  m.body = Body::copy_of(std::string(100, 'x'));
  return m;
}

void backlog(const std::string& dir, long n) {
  QueueConfig cfg;
  cfg.name = "bench";
  auto q = *Queue::open(dir + "/backlog", cfg);
  long rss0 = rss_kib();
  Message m = make(false);
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) (void)q->publish(m);
  double pub = secs(t0);
  long rss1 = rss_kib();
  long got = 0;
  ConsumerOptions o;
  o.session = SessionId(1);
  o.prefetch = 1000;
  std::vector<DeliveryTag> tags;
  o.deliver = [&](Delivery&& d) {
    ++got;
    tags.push_back(d.tag);
  };
  t0 = Clock::now();
  (void)q->attach(o);
  while (!tags.empty()) {
    auto batch = std::move(tags);
    tags.clear();
    for (auto t : batch) (void)q->ack(SessionId(1), t, false);
  }
  double con = secs(t0);
  std::printf("backlog: %ld msgs  publish %.0f msg/s  consume+ack %.0f msg/s  RSS %ld -> %ld -> %ld KiB  "
              "disk left %lu bytes\n",
              n, n / pub, got / con, rss0, rss1, rss_kib(), (unsigned long)q->disk_bytes());
  (void)q->remove(false, false);
}

void persistent(const std::string& dir, long n) {
  asio::io_context io;
  Flusher flusher(io, 100, 1 << 20);
  QueueHooks hooks;
  hooks.defer = [&io](std::function<void()> fn) { asio::post(io, std::move(fn)); };
  hooks.request_flush = [&](const std::shared_ptr<Flushable>& f, size_t b, bool u) { flusher.dirty(f, b, u); };
  QueueConfig cfg;
  cfg.name = "bench";
  auto q = *Queue::open(dir + "/persistent", cfg, hooks);
  long confirmed = 0, got = 0, published = 0;
  long window = getenv("WINDOW") ? atol(getenv("WINDOW")) : 1000;
  ConsumerOptions o;
  o.session = SessionId(1);
  o.prefetch = 1000;
  o.deliver = [&](Delivery&& d) {
    ++got;
    (void)q->ack(SessionId(1), d.tag, false);
  };
  (void)q->attach(o);
  Message m = make(true);
  auto t0 = Clock::now();
  // A publisher that keeps up to 1000 unconfirmed messages in flight, 100 per turn.
  std::function<void()> pump = [&] {
    for (int i = 0; i < 100 && published < n && published - confirmed < window; ++i, ++published) {
      (void)q->publish(m, [&](status) { ++confirmed; });
    }
    if (published < n) asio::post(io, pump);
  };
  asio::post(io, pump);
  while (confirmed < n || got < n) {
    io.run_for(std::chrono::milliseconds(5));
    io.restart();
  }
  double t = secs(t0);
  std::printf("persistent: %ld msgs with confirms and acks  %.0f msg/s\n", n, n / t);
  flusher.stop();
  (void)q->remove(false, false);
}

void selectors(const std::string& dir, long n) {
  QueueConfig cfg;
  cfg.name = "bench";
  auto q = *Queue::open(dir + "/selectors", cfg);
  Message m = make(false);
  long stray = 0;
  for (long i = 0; i < n; ++i) {
    bool neither = i % 100 == 99;
    stray += neither;
    m.headers.set("color", Value(neither ? "green" : i % 2 ? "red" : "blue"));
    (void)q->publish(m);
  }
  long got = 0;
  std::vector<std::pair<SessionId, DeliveryTag>> tags;
  auto attach = [&](uint64_t session, const char* text) {
    ConsumerOptions o;
    o.session = SessionId(session);
    o.prefetch = 1000;
    o.selector = std::make_shared<const selector::Selector>(*selector::parse(text));
    o.deliver = [&, session](Delivery&& d) {
      ++got;
      tags.emplace_back(SessionId(session), d.tag);
    };
    (void)q->attach(o);
  };
  auto t0 = Clock::now();
  attach(1, "color = 'red'");
  attach(2, "color = 'blue'");
  while (!tags.empty()) {
    auto batch = std::move(tags);
    tags.clear();
    for (auto [s, t] : batch) (void)q->ack(s, t, false);
  }
  double con = secs(t0);
  std::printf("selectors: %ld msgs  %ld delivered in %.2f s: %.0f msg/s  left %lu (%ld matched neither)  tracked %zu\n", n,
              got, con, got / con, (unsigned long)q->message_count(), stray, q->tracked_entries());
  (void)q->remove(false, false);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/tmp/wharf-queue-bench";
  long n = argc > 2 ? std::stol(argv[2]) : 1'000'000;
  (void)storage::Env::posix()->create_dir(dir);
  if (!getenv("ONLY_SELECTORS")) backlog(dir, n);
  if (!getenv("ONLY_SELECTORS")) persistent(dir, n / 5);
  selectors(dir, n / 5);
  return 0;
}
