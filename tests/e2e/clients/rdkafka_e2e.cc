// End-to-end test of Wharf with librdkafka (C API), the library behind kcat,
// confluent-kafka and most non-Java clients.
//
//   rdkafka_e2e WHARF_BIN      (or with $WHARF_BIN set)
//
// Starts its own broker on a kernel-chosen port with a temporary data
// directory, then, as a user of librdkafka would:
//   1. creates a 3-partition topic with rd_kafka_CreateTopics;
//   2. produces N keyed messages with headers and explicit timestamps, acks=all
//      and enable.idempotence=true, and waits for every delivery report;
//   3. consumes them in a group via subscribe and checks each arrives exactly
//      once with key, value, headers, timestamp, partition and offset intact;
//   4. commits, reads the commit back with rd_kafka_committed, and checks a new
//      group member resumes right after it;
//   5. checks rd_kafka_query_watermark_offsets and rd_kafka_offsets_for_times;
//   6. has two cooperative-sticky consumers share a topic, each message once;
//   7. round-trips batches compressed with every codec librdkafka offers.
// Exit status 0 on success; on failure a message, the broker's log, exit 1.

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- broker ---

// The broker under test, run as a child process. Its output goes to a file in
// the temporary directory (a pipe nobody drains could fill up and stall it);
// the port is read from its "kafka listening on ... (port N)" line.
struct Broker {
  std::string bin;
  fs::path tmp;
  pid_t pid = -1;
  int port = 0;

  fs::path log_path() const { return tmp / "broker.log"; }

  std::string log() const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

Broker* g_broker = nullptr;

[[noreturn]] void vfail(const char* where, const char* fmt, std::va_list ap) {
  std::fprintf(stderr, "FAIL: %s", where);
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  if (g_broker) {
    std::fprintf(stderr, "---- broker log (%s) ----\n%s\n", g_broker->log_path().c_str(), g_broker->log().c_str());
    if (g_broker->pid > 0) {
      ::kill(g_broker->pid, SIGKILL);
      ::waitpid(g_broker->pid, nullptr, 0);
    }
    // The log was just printed; nothing else in the directory is worth keeping.
    std::error_code ec;
    fs::remove_all(g_broker->tmp, ec);
  }
  std::exit(1);
}

[[noreturn]] void fail(const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  vfail("", fmt, ap);
}

[[noreturn]] void fail_check(const char* file, int line, const char* cond, const char* fmt, ...) {
  char where[512];
  std::snprintf(where, sizeof where, "%s:%d: (%s) ", file, line, cond);
  std::va_list ap;
  va_start(ap, fmt);
  vfail(where, fmt, ap);
}

// CHECK(condition, "printf format", args...): on failure, says where, what
// was expected and the detail, dumps the broker log and exits 1.
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail_check(__FILE__, __LINE__, #cond, __VA_ARGS__); \
  } while (0)

void start_broker(Broker& b) {
  char tmpl[] = "/tmp/wharf-e2e-rdkafka-XXXXXX";
  CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp: %s", std::strerror(errno));
  b.tmp = tmpl;
  std::string data = (b.tmp / "data").string(), log = b.log_path().string();
  pid_t parent = ::getpid();
  b.pid = ::fork();
  CHECK(b.pid >= 0, "fork: %s", std::strerror(errno));
  if (b.pid == 0) {
    // If this test dies (e.g. killed on timeout), the broker must not outlive it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    FILE* f = std::fopen(log.c_str(), "w");
    if (!f) ::_exit(126);
    ::dup2(fileno(f), 1);
    ::dup2(fileno(f), 2);
    // A short initial rebalance delay: no group here waits for a second member.
    ::execl(b.bin.c_str(), b.bin.c_str(), "serve", "--data-dir", data.c_str(), "--kafka-listen", "127.0.0.1:0",
            // AMQP on a kernel-chosen port too: 5672 may be taken by another broker or test.
            "--amqp-listen", "127.0.0.1:0", "--stomp-listen", "127.0.0.1:0", "--stomp-ws-listen", "127.0.0.1:0", "--groups-initial-rebalance-delay-ms", "300",
            static_cast<char*>(nullptr));
    std::fprintf(stderr, "exec %s: %s\n", b.bin.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  const std::regex ready(R"(kafka listening on \S+ \(port (\d+)\))");
  auto deadline = Clock::now() + std::chrono::seconds(15);
  for (;;) {
    std::smatch m;
    std::string out = b.log();
    if (std::regex_search(out, m, ready)) {
      b.port = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (::waitpid(b.pid, &status, WNOHANG) == b.pid) {
      b.pid = -1;
      fail("broker exited before it was ready (status %d)", status);
    }
    if (Clock::now() > deadline) fail("broker not ready after 15 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// SIGTERM, as an operator would; a clean shutdown exits with status 0.
void stop_broker(Broker& b) {
  ::kill(b.pid, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (::waitpid(b.pid, &status, WNOHANG) != b.pid) {
    if (Clock::now() > deadline) fail("broker did not exit within 15 s of SIGTERM");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  b.pid = -1;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "broker did not stop cleanly: wait status %d", status);
}

// ------------------------------------------------------------- librdkafka ---

std::string g_bootstrap;

rd_kafka_conf_t* make_conf(std::initializer_list<std::pair<const char*, const char*>> settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) fail("config %s=%s: %s", k, v, err);
  };
  set("bootstrap.servers", g_bootstrap.c_str());
  set("client.id", "wharf-e2e-rdkafka");
  for (auto& [k, v] : settings) set(k, v);
  return conf;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) fail("rd_kafka_new: %s", err);
  return rk;
}

constexpr int kPartitions = 3;
constexpr int kMessages = 600;
constexpr int kKeys = 17;

// What was sent, and where the delivery report says it went.
struct Sent {
  std::string key, value;
  int64_t timestamp = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  rd_kafka_msg_status_t status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  int32_t partition = -1;
  int64_t offset = -1;
  bool received = false;
};
std::vector<Sent> g_sent;
int g_reports = 0;

// Delivery report callback: runs inside rd_kafka_poll/flush on this thread.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto i = reinterpret_cast<uintptr_t>(m->_private);
  if (i >= g_sent.size()) fail("delivery report for unknown message %zu", size_t(i));
  Sent& s = g_sent[i];
  if (s.err != RD_KAFKA_RESP_ERR__IN_PROGRESS) fail("two delivery reports for message %zu", size_t(i));
  s.err = m->err;
  s.partition = m->partition;
  s.offset = m->offset;
  s.status = rd_kafka_message_status(m);
  ++g_reports;
}

void create_topic(rd_kafka_t* rk, const char* topic, int partitions) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
  CHECK(nt != nullptr, "NewTopic: %s", err);
  CHECK(rd_kafka_NewTopic_set_config(nt, "retention.ms", "86400000") == RD_KAFKA_RESP_ERR_NO_ERROR, "set_config");
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 10000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
  CHECK(ev != nullptr, "no CreateTopics result within 20 s");
  CHECK(rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT, "event %s", rd_kafka_event_name(ev));
  CHECK(rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR, "CreateTopics: %s", rd_kafka_event_error_string(ev));
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  CHECK(n == 1, "%zu topic results", n);
  CHECK(std::strcmp(rd_kafka_topic_result_name(res[0]), topic) == 0, "result for %s", rd_kafka_topic_result_name(res[0]));
  CHECK(rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR, "creating %s: %s (%s)", topic,
        rd_kafka_err2name(rd_kafka_topic_result_error(res[0])), rd_kafka_topic_result_error_string(res[0]));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);

  // Metadata agrees: the topic exists with the requested partition count.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic, nullptr);
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "metadata: %s", rd_kafka_err2str(e));
  CHECK(md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR, "metadata for %s", topic);
  CHECK(md->topics[0].partition_cnt == partitions, "%s has %d partitions", topic, md->topics[0].partition_cnt);
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
}

// Produces until the local queue accepts the message.
void produce_one(rd_kafka_t* rk, const char* topic, int32_t partition, const Sent& s, uintptr_t index, bool headers) {
  for (;;) {
    std::string seq = std::to_string(index);
    const unsigned char bin[4] = {0xff, 0x00, static_cast<unsigned char>(index & 0xff), 0xfe};
    rd_kafka_resp_err_t e;
    if (headers) {
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_KEY(s.key.data(), s.key.size()), RD_KAFKA_V_VALUE((void*)s.value.data(), s.value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(s.timestamp),
                            RD_KAFKA_V_HEADER("seq", seq.data(), ssize_t(seq.size())),
                            RD_KAFKA_V_HEADER("bin", bin, ssize_t(sizeof bin)),
                            RD_KAFKA_V_HEADER("none", nullptr, 0), RD_KAFKA_V_OPAQUE((void*)index), RD_KAFKA_V_END);
    } else {
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_KEY(s.key.data(), s.key.size()), RD_KAFKA_V_VALUE((void*)s.value.data(), s.value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void*)index), RD_KAFKA_V_END);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail("produce: %s", rd_kafka_err2str(e));
    rd_kafka_poll(rk, 100);
  }
}

void flush_all(rd_kafka_t* rk, int expected_reports) {
  rd_kafka_resp_err_t e = rd_kafka_flush(rk, 30000);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(e));
  CHECK(g_reports == expected_reports, "%d delivery reports for %d messages", g_reports, expected_reports);
  char err[512];
  CHECK(rd_kafka_fatal_error(rk, err, sizeof err) == RD_KAFKA_RESP_ERR_NO_ERROR, "idempotent producer fatal error: %s", err);
}

std::string header(const rd_kafka_message_t* m, const char* name, bool* present = nullptr, bool* is_null = nullptr) {
  rd_kafka_headers_t* hdrs = nullptr;
  const void* v = nullptr;
  size_t n = 0;
  bool ok = rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (present) *present = ok;
  if (is_null) *is_null = ok && v == nullptr;
  return ok && v ? std::string(static_cast<const char*>(v), n) : std::string();
}

// Polls the consumer until `want` messages arrived, handing each to `on`.
template <class F>
void consume(rd_kafka_t* c, int want, const char* what, F on) {
  int got = 0;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (got < want) {
    if (Clock::now() > deadline) fail("%s: only %d of %d messages within 60 s", what, got, want);
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200);
    if (!m) continue;
    if (m->err) fail("%s: consumer error: %s", what, rd_kafka_message_errstr(m));
    on(m);
    ++got;
    rd_kafka_message_destroy(m);
  }
}

// After all expected messages, nothing more may come: anything else would be
// a duplicate or a message nobody sent. Polls for a short while to see.
void expect_no_more(rd_kafka_t* c, const char* what) {
  auto until = Clock::now() + std::chrono::milliseconds(1000);
  while (Clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err) fail("%s: unexpected extra message at partition %d offset %lld", what, m->partition, (long long)m->offset);
    rd_kafka_message_destroy(m);
  }
}

// fetch.wait.max.ms is lowered because a broker answers a connection's
// requests in order, so queries such as offsets_for_times wait behind the
// consumer's long-poll fetch (500 ms by default).
rd_kafka_t* group_consumer(const char* group, const char* topic, const char* assignor = "range,roundrobin") {
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, make_conf({{"group.id", group},
                                                            {"partition.assignment.strategy", assignor},
                                                            {"fetch.wait.max.ms", "50"},
                                                            {"auto.offset.reset", "earliest"},
                                                            {"enable.auto.commit", "false"},
                                                            {"enable.auto.offset.store", "true"}}));
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(c, sub);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe: %s", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(sub);
  return c;
}

void close_consumer(rd_kafka_t* c) {
  rd_kafka_resp_err_t e = rd_kafka_consumer_close(c);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "consumer_close: %s", rd_kafka_err2str(e));
  rd_kafka_destroy(c);
}

// ----------------------------------------------------------------- steps ---

void produce_and_consume() {
  const char* topic = "rdkafka-e2e";
  const char* group = "rdkafka-e2e-group";

  // Idempotence implies acks=all and at most 5 in flight; set acks anyway to
  // say what is being tested. No compression here: offsets_for_times is exact
  // only inside uncompressed batches (see Partition::offset_for_time).
  rd_kafka_conf_t* pconf = make_conf({{"enable.idempotence", "true"}, {"acks", "all"},
                                       {"compression.codec", "none"}, {"linger.ms", "5"}});
  rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, pconf);
  create_topic(producer, topic, kPartitions);

  // Timestamps an hour in the past, one millisecond apart in send order, so
  // offsets_for_times has an exact answer to check against.
  const int64_t base_ts =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
      3600 * 1000;
  g_sent.resize(kMessages);
  for (int i = 0; i < kMessages; ++i) {
    Sent& s = g_sent[i];
    s.key = "key-" + std::to_string(i % kKeys);
    s.value = "value-" + std::to_string(i) + "-" + std::string(i % 100, 'v');
    s.timestamp = base_ts + i;
    produce_one(producer, topic, RD_KAFKA_PARTITION_UA, s, uintptr_t(i), true);
  }
  flush_all(producer, kMessages);

  // Every message persisted; a key always maps to one partition; offsets in a
  // partition run 0,1,2,... in send order (idempotent producers keep order).
  std::map<std::string, int32_t> key_partition;
  std::vector<std::vector<int>> by_partition(kPartitions);  // message indexes in offset order
  for (int i = 0; i < kMessages; ++i) {
    const Sent& s = g_sent[i];
    CHECK(s.err == RD_KAFKA_RESP_ERR_NO_ERROR, "message %d: delivery failed: %s", i, rd_kafka_err2str(s.err));
    CHECK(s.status == RD_KAFKA_MSG_STATUS_PERSISTED, "message %d: status %d", i, int(s.status));
    CHECK(s.partition >= 0 && s.partition < kPartitions, "message %d: partition %d", i, s.partition);
    auto [it, fresh] = key_partition.emplace(s.key, s.partition);
    CHECK(fresh || it->second == s.partition, "key %s in partitions %d and %d", s.key.c_str(), it->second, s.partition);
    auto& list = by_partition[s.partition];
    CHECK(s.offset == int64_t(list.size()), "message %d: offset %lld in partition %d, expected %zu", i,
          (long long)s.offset, s.partition, list.size());
    list.push_back(i);
  }
  int used = 0;
  for (auto& l : by_partition) used += !l.empty();
  CHECK(used > 1, "all %d keys landed in one partition", kKeys);

  // Consume in a group and check every field of every message.
  rd_kafka_t* consumer = group_consumer(group, topic);
  consume(consumer, kMessages, "group consumer", [&](const rd_kafka_message_t* m) {
    CHECK(std::strcmp(rd_kafka_topic_name(m->rkt), topic) == 0, "topic %s", rd_kafka_topic_name(m->rkt));
    bool has_seq = false;
    std::string seq = header(m, "seq", &has_seq);
    CHECK(has_seq, "message at %d/%lld has no seq header", m->partition, (long long)m->offset);
    int i = std::atoi(seq.c_str());
    CHECK(i >= 0 && i < kMessages, "seq header %s", seq.c_str());
    Sent& s = g_sent[i];
    CHECK(!s.received, "message %d delivered twice (partition %d offset %lld)", i, m->partition, (long long)m->offset);
    s.received = true;
    CHECK(m->partition == s.partition && m->offset == s.offset, "message %d at %d/%lld, delivery report said %d/%lld", i,
          m->partition, (long long)m->offset, s.partition, (long long)s.offset);
    CHECK(std::string(static_cast<const char*>(m->key), m->key_len) == s.key, "message %d: key", i);
    CHECK(std::string(static_cast<const char*>(m->payload), m->len) == s.value, "message %d: value", i);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    CHECK(tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME && ts == s.timestamp, "message %d: timestamp %lld (type %d), sent %lld",
          i, (long long)ts, int(tstype), (long long)s.timestamp);
    rd_kafka_headers_t* hdrs = nullptr;
    rd_kafka_message_headers(m, &hdrs);
    CHECK(rd_kafka_header_cnt(hdrs) == 3, "message %d: %zu headers", i, rd_kafka_header_cnt(hdrs));
    const unsigned char bin[4] = {0xff, 0x00, static_cast<unsigned char>(i & 0xff), 0xfe};
    CHECK(header(m, "bin") == std::string(reinterpret_cast<const char*>(bin), 4), "message %d: binary header", i);
    bool present = false, is_null = false;
    header(m, "none", &present, &is_null);
    CHECK(present && is_null, "message %d: null-valued header lost its null", i);
  });
  expect_no_more(consumer, "group consumer");

  // Commit the consumed positions synchronously and read them back.
  rd_kafka_resp_err_t e = rd_kafka_commit(consumer, nullptr, 0);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "commit: %s", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(kPartitions);
  for (int p = 0; p < kPartitions; ++p) rd_kafka_topic_partition_list_add(parts, topic, p);
  e = rd_kafka_committed(consumer, parts, 10000);
  CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "committed: %s", rd_kafka_err2str(e));
  for (int i = 0; i < parts->cnt; ++i) {
    auto& tp = parts->elems[i];
    CHECK(tp.err == RD_KAFKA_RESP_ERR_NO_ERROR, "committed %d: %s", tp.partition, rd_kafka_err2str(tp.err));
    CHECK(tp.offset == int64_t(by_partition[tp.partition].size()), "committed offset of partition %d is %lld, expected %zu",
          tp.partition, (long long)tp.offset, by_partition[tp.partition].size());
  }
  rd_kafka_topic_partition_list_destroy(parts);

  // Watermarks: log start 0 and high watermark = messages in the partition.
  for (int p = 0; p < kPartitions; ++p) {
    int64_t lo = -1, hi = -1;
    e = rd_kafka_query_watermark_offsets(consumer, topic, p, &lo, &hi, 10000);
    CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "watermarks of %d: %s", p, rd_kafka_err2str(e));
    CHECK(lo == 0 && hi == int64_t(by_partition[p].size()), "partition %d watermarks [%lld, %lld), expected [0, %zu)", p,
          (long long)lo, (long long)hi, by_partition[p].size());
  }

  // offsets_for_times: for each partition and several timestamps, the answer
  // is the first offset whose timestamp is >= the one asked for, or -1 (end)
  // when no message is that new.
  auto expected_for = [&](int p, int64_t ts) -> int64_t {
    for (size_t k = 0; k < by_partition[p].size(); ++k)
      if (g_sent[by_partition[p][k]].timestamp >= ts) return int64_t(k);
    return RD_KAFKA_OFFSET_END;
  };
  for (int p = 0; p < kPartitions; ++p) {
    const auto& l = by_partition[p];
    if (l.empty()) continue;
    std::vector<int64_t> probes = {base_ts - 60000, g_sent[l.front()].timestamp, g_sent[l[l.size() / 2]].timestamp,
                                   g_sent[l[l.size() / 2]].timestamp - 1, g_sent[l.back()].timestamp,
                                   g_sent[l.back()].timestamp + 1, base_ts + 3600 * 1000};
    for (int64_t ts : probes) {
      rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(q, topic, p)->offset = ts;
      e = rd_kafka_offsets_for_times(consumer, q, 10000);
      CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "offsets_for_times: %s", rd_kafka_err2str(e));
      CHECK(q->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR, "offsets_for_times %d: %s", p, rd_kafka_err2str(q->elems[0].err));
      int64_t want = expected_for(p, ts);
      CHECK(q->elems[0].offset == want, "offsets_for_times(partition %d, ts base%+lld) = %lld, expected %lld", p,
            (long long)(ts - base_ts), (long long)q->elems[0].offset, (long long)want);
      rd_kafka_topic_partition_list_destroy(q);
    }
  }
  close_consumer(consumer);

  // A new member of the same group starts at the committed offsets: it sees
  // only messages produced after the commit, one per partition here.
  g_sent.resize(kMessages + kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    Sent& s = g_sent[kMessages + p];
    s.key = "late";
    s.value = "late-" + std::to_string(p);
    s.timestamp = base_ts + kMessages + p;
    produce_one(producer, topic, p, s, uintptr_t(kMessages + p), true);
  }
  flush_all(producer, kMessages + kPartitions);
  rd_kafka_t* resumed = group_consumer(group, topic);
  consume(resumed, kPartitions, "resumed consumer", [&](const rd_kafka_message_t* m) {
    std::string seq = header(m, "seq");
    int i = std::atoi(seq.c_str());
    CHECK(i >= kMessages, "resumed consumer re-read message %d (partition %d offset %lld) after it was committed", i,
          m->partition, (long long)m->offset);
    CHECK(!g_sent[i].received, "message %d delivered twice", i);
    g_sent[i].received = true;
    CHECK(m->offset == int64_t(by_partition[m->partition].size()), "resumed partition %d at offset %lld, expected %zu",
          m->partition, (long long)m->offset, by_partition[m->partition].size());
  });
  expect_no_more(resumed, "resumed consumer");
  close_consumer(resumed);
  rd_kafka_destroy(producer);
}

// Two consumers of one group with the cooperative-sticky assignor
// (incremental rebalancing, as many applications now configure it) split a
// topic's partitions and together see every message exactly once.
void cooperative_pair() {
  const char* topic = "rdkafka-e2e-coop";
  const char* group = "rdkafka-e2e-coop-group";
  constexpr int kCoopPartitions = 4, kCoopMessages = 400;
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, make_conf({{"enable.idempotence", "true"}}));
  create_topic(producer, topic, kCoopPartitions);
  rd_kafka_t* c[2] = {group_consumer(group, topic, "cooperative-sticky"), group_consumer(group, topic, "cooperative-sticky")};

  // Poll both (heartbeats run in librdkafka's threads; polling serves the
  // rebalance events) until each owns partitions and together all of them.
  std::map<int32_t, int> owner;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    for (int k = 0; k < 2; ++k) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c[k], 50);
      if (m) fail("cooperative: message before anything was produced (partition %d)", m->partition);
    }
    owner.clear();
    size_t sizes[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      rd_kafka_topic_partition_list_t* a = nullptr;
      CHECK(rd_kafka_assignment(c[k], &a) == RD_KAFKA_RESP_ERR_NO_ERROR, "assignment");
      sizes[k] = size_t(a->cnt);
      for (int i = 0; i < a->cnt; ++i) owner[a->elems[i].partition] = k;
      rd_kafka_topic_partition_list_destroy(a);
    }
    if (sizes[0] > 0 && sizes[1] > 0 && sizes[0] + sizes[1] == kCoopPartitions && owner.size() == kCoopPartitions) break;
    if (Clock::now() > deadline) fail("cooperative: assignments %zu + %zu never covered %d partitions", sizes[0], sizes[1], kCoopPartitions);
  }

  for (int i = 0; i < kCoopMessages; ++i) {
    std::string v = "coop-" + std::to_string(i);
    rd_kafka_resp_err_t e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % kCoopPartitions),
                                              RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_END);
    CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
  }
  CHECK(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");

  std::set<int> seen;
  int per_consumer[2] = {0, 0};
  deadline = Clock::now() + std::chrono::seconds(60);
  while (int(seen.size()) < kCoopMessages) {
    if (Clock::now() > deadline) fail("cooperative: only %zu of %d messages within 60 s", seen.size(), kCoopMessages);
    for (int k = 0; k < 2; ++k) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c[k], 50);
      if (!m) continue;
      if (m->err) fail("cooperative: consumer error: %s", rd_kafka_message_errstr(m));
      int i = std::atoi(std::string(static_cast<const char*>(m->payload), m->len).substr(5).c_str());
      CHECK(seen.insert(i).second, "cooperative: message %d delivered twice", i);
      CHECK(owner[m->partition] == k, "cooperative: partition %d read by consumer %d, assigned to %d", m->partition, k,
            owner[m->partition]);
      ++per_consumer[k];
      rd_kafka_message_destroy(m);
    }
  }
  CHECK(per_consumer[0] > 0 && per_consumer[1] > 0, "cooperative: one consumer got nothing (%d, %d)", per_consumer[0],
        per_consumer[1]);
  for (int k = 0; k < 2; ++k) expect_no_more(c[k], "cooperative");
  close_consumer(c[0]);
  close_consumer(c[1]);
  rd_kafka_destroy(producer);
}

// Batches compressed by the producer are stored as sent and must come back
// intact whatever the codec; the consumer (librdkafka) decompresses them.
void compressed_round_trip() {
  const char* topic = "rdkafka-e2e-compressed";
  const char* codecs[] = {"gzip", "snappy", "lz4", "zstd"};
  constexpr int kPerCodec = 200;
  std::vector<std::string> sent_values;
  {
    rd_kafka_t* admin = make_client(RD_KAFKA_PRODUCER, make_conf({}));
    create_topic(admin, topic, 1);
    rd_kafka_destroy(admin);
  }
  for (const char* codec : codecs) {
    g_sent.assign(kPerCodec, Sent{});
    g_reports = 0;
    rd_kafka_conf_t* conf = make_conf({{"enable.idempotence", "true"}, {"compression.codec", codec}, {"linger.ms", "20"}});
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t* p = make_client(RD_KAFKA_PRODUCER, conf);
    for (int i = 0; i < kPerCodec; ++i) {
      // Repetitive values so every codec really compresses.
      g_sent[i].key = codec;
      g_sent[i].value = std::string(codec) + " " + std::to_string(i) + " " + std::string(200, 'a' + i % 26);
      sent_values.push_back(g_sent[i].value);
      produce_one(p, topic, 0, g_sent[i], uintptr_t(i), false);
    }
    flush_all(p, kPerCodec);
    for (int i = 0; i < kPerCodec; ++i)
      CHECK(g_sent[i].err == RD_KAFKA_RESP_ERR_NO_ERROR, "%s message %d: %s", codec, i, rd_kafka_err2str(g_sent[i].err));
    rd_kafka_destroy(p);
  }

  // Read back by explicit assignment from offset 0, no group.
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, make_conf({{"group.id", "unused-compressed"}, {"enable.auto.commit", "false"}}));
  rd_kafka_topic_partition_list_t* a = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(a, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  CHECK(rd_kafka_assign(c, a) == RD_KAFKA_RESP_ERR_NO_ERROR, "assign");
  rd_kafka_topic_partition_list_destroy(a);
  int64_t next = 0;
  consume(c, int(sent_values.size()), "compressed", [&](const rd_kafka_message_t* m) {
    CHECK(m->offset == next, "compressed: offset %lld, expected %lld", (long long)m->offset, (long long)next);
    std::string v(static_cast<const char*>(m->payload), m->len);
    CHECK(v == sent_values[size_t(next)], "compressed: value at offset %lld is '%.40s...', sent '%.40s...'",
          (long long)next, v.c_str(), sent_values[size_t(next)].c_str());
    ++next;
  });
  expect_no_more(c, "compressed");
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
}

}  // namespace

int main(int argc, char** argv) {
  Broker broker;
  const char* env = std::getenv("WHARF_BIN");
  broker.bin = argc > 1 ? argv[1] : env ? env : "";
  if (broker.bin.empty()) {
    std::fprintf(stderr, "usage: %s WHARF_BIN (or set $WHARF_BIN)\n", argv[0]);
    return 2;
  }
  g_broker = &broker;
  // Line-buffered so progress lines and failure messages interleave in order.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("librdkafka %s\n", rd_kafka_version_str());
  start_broker(broker);
  g_bootstrap = "127.0.0.1:" + std::to_string(broker.port);
  std::printf("broker on port %d, data in %s\n", broker.port, broker.tmp.c_str());

  produce_and_consume();
  std::printf("ok: %d keyed messages with headers produced idempotently, consumed once each, committed, resumed;"
              " watermarks and offsets_for_times agree\n", kMessages);
  cooperative_pair();
  std::printf("ok: two cooperative-sticky consumers shared a topic, each message once\n");
  compressed_round_trip();
  std::printf("ok: gzip, snappy, lz4 and zstd batches round-trip\n");

  // Every client handle is gone; librdkafka's background threads must be too.
  CHECK(rd_kafka_wait_destroyed(10000) == 0, "librdkafka handles still alive");
  stop_broker(broker);
  g_broker = nullptr;
  std::error_code ec;
  fs::remove_all(broker.tmp, ec);
  std::printf("PASS\n");
  return 0;
}
