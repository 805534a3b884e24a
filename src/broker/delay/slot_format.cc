#include "broker/delay/slot_format.h"

#include <cstdio>
#include <cstring>

#include "base/crc32c.h"
#include "base/endian.h"

namespace wharf::broker::delay::slot_format {

namespace {

void put64(std::string& out, int64_t v) {
  uint8_t b[8];
  store_be64(b, uint64_t(v));
  out.append(reinterpret_cast<const char*>(b), 8);
}
void put32(std::string& out, int32_t v) {
  uint8_t b[4];
  store_be32(b, uint32_t(v));
  out.append(reinterpret_cast<const char*>(b), 4);
}
void put_str(std::string& out, std::string_view s) {
  uint8_t b[2];
  store_be16(b, uint16_t(s.size()));
  out.append(reinterpret_cast<const char*>(b), 2);
  out.append(s);
}

// Fills in the header of the record starting at out[start].
void seal(std::string& out, size_t start) {
  auto* p = reinterpret_cast<uint8_t*>(out.data() + start);
  size_t len = out.size() - start - kHeaderSize;
  store_be32(p, uint32_t(len));
  store_be32(p + 4, crc32c(p + kHeaderSize, len));
}

void put_occurrence(uint8_t* body, const Occurrence& occ) {
  store_be64(body + 1, uint64_t(occ.due));
  store_be64(body + 9, uint64_t(occ.base));
  store_be32(body + 37, uint32_t(occ.k));
}

}  // namespace

std::string file_name(int64_t index) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "slot-%020lld.wdl", static_cast<long long>(index));
  return buf;
}

bool parse_name(std::string_view name, int64_t* index) {
  if (name.size() != 29 || !name.starts_with("slot-") || !name.ends_with(".wdl")) return false;
  int64_t v = 0;
  for (char c : name.substr(5, 20)) {
    if (c < '0' || c > '9') return false;
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *index = v;
  return true;
}

void append_entry(const Occurrence& occ, const Schedule& s, const DelayTarget& t, std::span<const uint8_t> batch,
                  std::string& out) {
  size_t start = out.size();
  out.append(kHeaderSize, '\0');
  out.push_back(char(kEntry));
  put64(out, occ.due);
  put64(out, occ.base);
  put64(out, s.delay_ms);
  put64(out, s.period_ms);
  put32(out, s.repeat);
  put32(out, occ.k);
  for (std::string_view str : {std::string_view(s.cron), std::string_view(t.vhost), std::string_view(t.exchange),
                               std::string_view(t.routing_key), std::string_view(t.queue)})
    put_str(out, str);
  out.append(reinterpret_cast<const char*>(batch.data()), batch.size());
  seal(out, start);
}

void append_fired(uint64_t pos, std::string& out) {
  size_t start = out.size();
  out.append(kHeaderSize, '\0');
  out.push_back(char(kFired));
  put64(out, int64_t(pos));
  seal(out, start);
}

void append_rescheduled(std::span<const uint8_t> record, const Occurrence& occ, std::string& out) {
  size_t start = out.size();
  out.append(reinterpret_cast<const char*>(record.data()), record.size());
  put_occurrence(reinterpret_cast<uint8_t*>(out.data() + start + kHeaderSize), occ);
  seal(out, start);
}

uint32_t body_length(const uint8_t* header) {
  uint32_t len = load_be32(header);
  return len >= 1 && len <= kMaxBody ? len : 0;
}

bool crc_ok(const uint8_t* header, std::span<const uint8_t> body) {
  return load_be32(header + 4) == crc32c(body.data(), body.size());
}

result<EntryView> decode_entry(std::span<const uint8_t> body) {
  auto corrupt = [] { return make_error(Errc::kCorrupt, "malformed delayed-message entry"); };
  if (body.size() < kEntryFixed || body[0] != kEntry) return corrupt();
  const uint8_t* p = body.data();
  EntryView v;
  v.occ.due = int64_t(load_be64(p + 1));
  v.occ.base = int64_t(load_be64(p + 9));
  v.schedule.delay_ms = int64_t(load_be64(p + 17));
  v.schedule.period_ms = int64_t(load_be64(p + 25));
  v.schedule.repeat = int32_t(load_be32(p + 33));
  v.occ.k = int32_t(load_be32(p + 37));
  size_t pos = kEntryFixed;
  for (std::string* s : {&v.schedule.cron, &v.target.vhost, &v.target.exchange, &v.target.routing_key,
                         &v.target.queue}) {
    if (body.size() - pos < 2) return corrupt();
    size_t n = load_be16(p + pos);
    pos += 2;
    if (body.size() - pos < n) return corrupt();
    s->assign(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
  }
  v.batch = body.subspan(pos);
  return v;
}

}  // namespace wharf::broker::delay::slot_format
