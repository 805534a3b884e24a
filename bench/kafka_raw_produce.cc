// wharf-kafka-raw-produce: a minimal Produce-only Kafka client for measuring
// the broker when a general-purpose client is the bottleneck.
//
// librdkafka's producer walks every partition it knows under a lock each time
// it builds a request, so with 10,000 partitions the client, not the broker,
// sets the pace on a 2-core machine. This tool removes that cost: it encodes
// one Produce request (v7) once, with --per-request records dealt round robin
// over all partitions (record i to partition i % N, one RecordBatch v2 per
// partition holding real, readable records), then sends that same request
// again and again with up to --pipeline requests in flight, and checks every
// partition result of every response. Running it with 8 and with 10,000
// partitions gives the same client work per record, so the ratio of the two
// rates is the broker's.
//
// The request bytes come from Wharf's generated Kafka codec; the broker
// validates each batch's CRC-32C and stores it, exactly as for any client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/endian.h"
#include "kafka/protocol/generated/produce.h"
#include "kafka/protocol/wire.h"
#include "storage/record_batch.h"

using namespace wharf;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 9092;
  std::string topic = "bench";
  int partitions = 8;
  long records = 2'000'000;
  int size = 100;
  int per_request = 20'000;
  int pipeline = 4;
  int16_t acks = 1;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wharf-kafka-raw-produce: %s\n", what.c_str());
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--bootstrap") {
      auto hp = val();
      auto c = hp.rfind(':');
      o.host = hp.substr(0, c);
      o.port = std::stoi(hp.substr(c + 1));
    } else if (a == "--topic") o.topic = val();
    else if (a == "--partitions") o.partitions = std::stoi(val());
    else if (a == "--records") o.records = std::stol(val());
    else if (a == "--size") o.size = std::stoi(val());
    else if (a == "--per-request") o.per_request = std::stoi(val());
    else if (a == "--pipeline") o.pipeline = std::stoi(val());
    else if (a == "--acks") { auto v = val(); o.acks = int16_t(v == "all" ? -1 : std::stoi(v)); }
    else if (a == "--help" || a == "-h") {
      std::puts("usage: wharf-kafka-raw-produce [--bootstrap HOST:PORT] [--topic T] [--partitions N]\n"
                "         [--records N] [--size BYTES] [--per-request N] [--pipeline N] [--acks 0|1|all]\n"
                "The topic must exist with at least N partitions.");
      std::exit(0);
    } else die("unknown option " + a);
  }
  return o;
}

// One RecordBatch v2 of `n` records with `size`-byte values and no keys.
std::vector<uint8_t> make_batch(int n, int size, int64_t ts) {
  std::vector<uint8_t> recs;
  OutBuffer body;
  kafka::Writer w(body);
  for (int i = 0; i < n; i++) {
    OutBuffer rec;
    kafka::Writer rw(rec);
    rw.write_int8(0);        // attributes
    rw.write_varlong(0);     // timestamp delta
    rw.write_varint(i);      // offset delta
    rw.write_varint(-1);     // null key
    rw.write_varint(size);   // value length
    std::vector<uint8_t> value(size_t(size), uint8_t('a' + i % 26));
    rec.append(value);
    rw.write_varint(0);      // no headers
    w.write_varint(int32_t(rec.size()));
    body.append_buffer(std::move(rec));
  }
  for (auto& c : body.chunks()) recs.insert(recs.end(), c.mem.begin(), c.mem.end());

  using namespace storage::batch_layout;
  std::vector<uint8_t> b(kHeaderSize + recs.size(), 0);
  uint8_t* p = b.data();
  store_be64(p + kBaseOffset, 0);
  store_be32(p + kBatchLength, uint32_t(b.size() - kLogOverhead));
  store_be32(p + kLeaderEpoch, 0xffffffff);
  p[kMagic] = 2;
  store_be16(p + kAttributes, 0);
  store_be32(p + kLastOffsetDelta, uint32_t(n - 1));
  store_be64(p + kBaseTimestamp, uint64_t(ts));
  store_be64(p + kMaxTimestamp, uint64_t(ts));
  store_be64(p + kProducerId, uint64_t(-1));
  store_be16(p + kProducerEpoch, uint16_t(-1));
  store_be32(p + kBaseSequence, uint32_t(-1));
  store_be32(p + kRecordsCount, uint32_t(n));
  std::memcpy(p + kHeaderSize, recs.data(), recs.size());
  storage::update_batch_crc(b);
  return b;
}

// The whole request frame (size prefix included); correlation id at byte 8.
std::vector<uint8_t> make_request(const Options& o, std::vector<std::vector<uint8_t>>& batches) {
  int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  kafka::msg::ProduceRequest r;
  r.acks = o.acks;
  r.timeout_ms = 30000;
  r.topic_data.resize(1);
  r.topic_data[0].name = o.topic;
  int parts = std::min(o.partitions, o.per_request);
  batches.resize(size_t(parts));
  for (int p = 0; p < parts; p++) {
    int n = o.per_request / o.partitions + (p < o.per_request % o.partitions ? 1 : 0);
    batches[size_t(p)] = make_batch(n, o.size, ts);
    kafka::msg::ProduceRequest::PartitionProduceData pd;
    pd.index = p;
    pd.records.data = batches[size_t(p)];
    r.topic_data[0].partition_data.push_back(std::move(pd));
  }
  OutBuffer out;
  kafka::Writer w(out);
  w.write_int32(0);  // size, patched below
  w.write_int16(0);  // api key Produce
  w.write_int16(7);
  w.write_int32(0);  // correlation id
  w.write_string("wharf-kafka-raw-produce");
  r.encode(w, 7);
  out.patch_be32(0, uint32_t(out.size() - 4));
  std::vector<uint8_t> frame;
  frame.reserve(out.size());
  for (auto& c : out.chunks()) frame.insert(frame.end(), c.mem.begin(), c.mem.end());
  return frame;
}

void write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0) { if (errno == EINTR) continue; die(std::string("write: ") + std::strerror(errno)); }
    p += k;
    n -= size_t(k);
  }
}

void read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::read(fd, p, n);
    if (k == 0) die("broker closed the connection");
    if (k < 0) { if (errno == EINTR) continue; die(std::string("read: ") + std::strerror(errno)); }
    p += k;
    n -= size_t(k);
  }
}

// Reads one response and fails on any partition error.
void check_response(int fd, int32_t want_corr, int parts) {
  uint8_t len[4];
  read_all(fd, len, 4);
  std::vector<uint8_t> buf(load_be32(len));
  read_all(fd, buf.data(), buf.size());
  if (buf.size() < 4 || int32_t(load_be32(buf.data())) != want_corr) die("response out of order");
  kafka::Reader r(std::span<uint8_t>(buf).subspan(4));
  kafka::msg::ProduceResponse resp;
  if (!resp.decode(r, 7)) die("undecodable ProduceResponse");
  int seen = 0;
  for (auto& t : resp.responses)
    for (auto& p : t.partition_responses) {
      if (p.error_code != 0) die("partition " + std::to_string(p.index) + " error " + std::to_string(p.error_code));
      seen++;
    }
  if (seen != parts) die("response covers " + std::to_string(seen) + " partitions, sent " + std::to_string(parts));
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::vector<std::vector<uint8_t>> batches;
  std::vector<uint8_t> frame = make_request(o, batches);
  int parts = std::min(o.partitions, o.per_request);

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(o.port));
  if (::inet_pton(AF_INET, o.host == "localhost" ? "127.0.0.1" : o.host.c_str(), &sa.sin_addr) != 1)
    die("--bootstrap needs an IPv4 address");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die(std::string("connect: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  long requests = (o.records + o.per_request - 1) / o.per_request;
  auto t0 = std::chrono::steady_clock::now();
  int32_t sent = 0, answered = 0;
  while (answered < requests) {
    if (sent < requests && sent - answered < o.pipeline) {
      store_be32(frame.data() + 8, uint32_t(sent));
      write_all(fd, frame.data(), frame.size());
      sent++;
    } else if (o.acks == 0) {
      answered = sent;
    } else {
      check_response(fd, answered, parts);
      answered++;
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long n = requests * o.per_request;
  std::printf("raw-produce acks=%-3d partitions=%-6d records=%-9ld size=%-5d per_request=%d seconds=%.3f "
              "records/s=%.0f MB/s=%.1f\n",
              o.acks, o.partitions, n, o.size, o.per_request, s, double(n) / s, double(n) * o.size / s / 1e6);
  ::close(fd);
  return 0;
}
