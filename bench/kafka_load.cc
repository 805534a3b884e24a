// wharf-kafka-load: a Kafka load generator on librdkafka.
//
// Produces fixed-size records, optionally consumes them in the same process,
// and prints one line of throughput and latency percentiles. Any Kafka broker
// will do; bench/kafka_bench.sh points it at a Wharf it starts itself.
//
// Each payload starts with the CLOCK_MONOTONIC time (ns) at which it was
// handed to librdkafka, so the producer's delivery report gives the ack
// latency and the consumer gives the end-to-end latency without any shared
// state between the two sides (both clocks are the same system clock).
//
// Modes:
//   produce   send --records as fast as allowed (or at --rate), wait for acks
//   e2e       the same while a consumer (assign(), no group) reads them back;
//             throughput counts the time until the last record was consumed
//   consume   read --records already in the topic from the beginning
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "bench";
  std::string mode = "produce";
  std::string acks = "1";
  int partitions = 8;
  long records = 2'000'000;
  int size = 100;
  long rate = 0;  // records/s; 0 = unthrottled
  int linger_ms = 5;
  bool create = true;
  std::string debug;  // librdkafka debug contexts, e.g. "broker,protocol"
};

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wharf-kafka-load: %s\n", what.c_str());
  std::exit(1);
}

void usage() {
  std::puts(
      "usage: wharf-kafka-load [--bootstrap HOST:PORT] [--topic T] [--partitions N]\n"
      "         [--mode produce|e2e|consume] [--records N] [--size BYTES] [--acks 0|1|all]\n"
      "         [--rate RECORDS_PER_S] [--linger-ms MS] [--no-create]\n"
      "Prints: mode, records, seconds, records/s, MB/s and latency percentiles (us).");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--bootstrap") o.bootstrap = val();
    else if (a == "--topic") o.topic = val();
    else if (a == "--mode") o.mode = val();
    else if (a == "--acks") o.acks = val();
    else if (a == "--partitions") o.partitions = std::stoi(val());
    else if (a == "--records") o.records = std::stol(val());
    else if (a == "--size") o.size = std::stoi(val());
    else if (a == "--rate") o.rate = std::stol(val());
    else if (a == "--linger-ms") o.linger_ms = std::stoi(val());
    else if (a == "--no-create") o.create = false;
    else if (a == "--debug") o.debug = val();
    else if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else die("unknown option " + a);
  }
  if (o.size < 8) die("--size must be at least 8 (the timestamp)");
  if (o.mode != "produce" && o.mode != "e2e" && o.mode != "consume") die("bad --mode " + o.mode);
  return o;
}

void set(rd_kafka_conf_t* c, const char* k, const std::string& v) {
  char err[256];
  if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) die(std::string(k) + ": " + err);
}

// Latencies in microseconds; percentiles by sorting at the end.
struct Histogram {
  std::vector<uint32_t> us;
  void add(int64_t ns) { us.push_back(uint32_t(std::min<int64_t>(ns / 1000, UINT32_MAX))); }
  std::string summary() {
    if (us.empty()) return "latency_us n/a";
    std::sort(us.begin(), us.end());
    auto at = [&](double q) { return us[std::min(us.size() - 1, size_t(q * double(us.size())))]; };
    char buf[160];
    std::snprintf(buf, sizeof buf, "latency_us p50=%u p99=%u p99.9=%u max=%u", at(0.5), at(0.99), at(0.999),
                  us.back());
    return buf;
  }
};

struct ProducerState {
  std::atomic<long> acked{0}, failed{0};
  Histogram ack_latency;  // touched only by the polling (producing) thread
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<ProducerState*>(opaque);
  if (m->err) {
    if (st->failed++ < 5) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    return;
  }
  int64_t sent;
  std::memcpy(&sent, m->payload, 8);
  st->ack_latency.add(mono_ns() - sent);
  st->acked++;
}

void create_topic(const Options& o) {
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  set(c, "bootstrap.servers", o.bootstrap);
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (!rk) die(err);
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, -1, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, 60000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 120000);
  if (!ev) die("CreateTopics timed out");
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n;
  const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; i++) {
    auto e = rd_kafka_topic_result_error(tr[i]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) die(std::string("CreateTopics: ") + rd_kafka_err2str(e));
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

rd_kafka_t* new_producer(const Options& o, ProducerState& st) {
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  set(c, "bootstrap.servers", o.bootstrap);
  set(c, "acks", o.acks);
  if (!o.debug.empty()) set(c, "debug", o.debug);
  set(c, "linger.ms", std::to_string(o.linger_ms));
  set(c, "batch.num.messages", "100000");
  set(c, "batch.size", "1000000");
  set(c, "queue.buffering.max.messages", "2000000");
  set(c, "queue.buffering.max.kbytes", "1048576");
  set(c, "message.max.bytes", "1000000");
  set(c, "compression.codec", "none");
  rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
  rd_kafka_conf_set_opaque(c, &st);
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (!rk) die(err);
  return rk;
}

void produce_one(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int32_t partition, std::vector<char>& payload) {
  while (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(), nullptr, 0,
                          nullptr) != 0) {
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(rd_kafka_err2str(rd_kafka_last_error()));
    rd_kafka_poll(rk, 1);
  }
}

// Warm-up: one record (timestamp 0, not measured) per partition, acknowledged
// before anything is timed, so metadata and connections are in place.
void warm_up(const Options& o, rd_kafka_t* rk, rd_kafka_topic_t* rkt, ProducerState& st) {
  std::vector<char> payload(size_t(o.size), 0);
  for (int p = 0; p < o.partitions; p++) produce_one(rk, rkt, p, payload);
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("warm-up produce timed out");
  st.acked = 0;
  st.ack_latency.us.clear();
}

// Produces o.records records, partition = i % partitions (true round robin,
// independent of the client's partitioner), at o.rate if set.
void produce(const Options& o, rd_kafka_t* rk, rd_kafka_topic_t* rkt, int64_t& t_start, int64_t& t_end) {
  std::vector<char> payload(size_t(o.size), 'x');
  t_start = mono_ns();
  for (long i = 0; i < o.records; i++) {
    if (o.rate > 0) {
      // Sleep (not spin: on 2 cores a spinning client steals the broker's
      // CPU) until this record is due; records already due go out at once.
      int64_t due = t_start + int64_t(double(i) * 1e9 / double(o.rate));
      if (mono_ns() < due) {
        rd_kafka_poll(rk, 0);
        timespec ts{time_t(due / 1'000'000'000), long(due % 1'000'000'000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
      }
    }
    int64_t now = mono_ns();
    std::memcpy(payload.data(), &now, 8);
    produce_one(rk, rkt, int32_t(i % o.partitions), payload);
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 10);
  t_end = mono_ns();
}

// Reads o.records records from every partition's beginning; stops when all
// have arrived. Returns the time the last one was read. Warm-up records
// (timestamp 0) are not counted; `ready` is set once one per partition came.
int64_t consume(const Options& o, Histogram& e2e, std::atomic<bool>& ready) {
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  set(c, "bootstrap.servers", o.bootstrap);
  set(c, "group.id", "wharf-kafka-load");  // required by the API; assign() uses no group protocol
  set(c, "enable.auto.commit", "false");
  set(c, "fetch.wait.max.ms", "100");
  set(c, "fetch.min.bytes", "1");
  set(c, "fetch.max.bytes", "52428800");
  set(c, "max.partition.fetch.bytes", "4194304");
  set(c, "queued.min.messages", "1000000");
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
  if (!rk) die(err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(o.partitions);
  for (int p = 0; p < o.partitions; p++)
    rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(rk, parts)) die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  int warm = 0;

  long got = 0;
  int64_t last = 0;
  int64_t idle_since = mono_ns();
  while (got < o.records) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) {
      if (mono_ns() - idle_since > 30'000'000'000) die("consumer saw nothing for 30 s (got " + std::to_string(got) + ")");
      continue;
    }
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) std::fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
    } else {
      last = mono_ns();
      idle_since = last;
      int64_t sent;
      std::memcpy(&sent, m->payload, 8);
      if (sent == 0) {
        if (++warm == o.partitions) ready = true;
      } else {
        e2e.add(last - sent);
        got++;
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return last;
}

void report(const char* what, const Options& o, long n, int64_t ns, Histogram& h) {
  double s = double(ns) / 1e9;
  std::printf("%-8s acks=%-3s partitions=%-6d records=%-9ld size=%-5d seconds=%.3f records/s=%.0f MB/s=%.1f %s\n", what,
              o.acks.c_str(), o.partitions, n, o.size, s, double(n) / s, double(n) * o.size / s / 1e6,
              h.summary().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.create && o.mode != "consume") create_topic(o);

  if (o.mode == "consume") {
    Histogram none;
    std::atomic<bool> ready{false};
    int64_t t0 = mono_ns();
    int64_t t1 = consume(o, none, ready);
    report("consume", o, o.records, t1 - t0, none);
    return 0;
  }

  ProducerState st;
  rd_kafka_t* rk = new_producer(o, st);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  warm_up(o, rk, rkt, st);

  Histogram e2e;
  std::atomic<bool> ready{false};
  int64_t consumed_at = 0;
  std::thread consumer;
  if (o.mode == "e2e") {
    consumer = std::thread([&] { consumed_at = consume(o, e2e, ready); });
    while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  int64_t t0 = 0, t1 = 0;
  produce(o, rk, rkt, t0, t1);
  if (st.failed > 0) die(std::to_string(st.failed.load()) + " records failed");
  if (o.mode == "e2e") {
    consumer.join();
    report("e2e", o, o.records, consumed_at - t0, e2e);
  } else {
    report("produce", o, st.acked, t1 - t0, st.ack_latency);
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return 0;
}
