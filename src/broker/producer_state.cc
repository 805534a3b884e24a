#include "broker/producer_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "base/logging.h"

namespace wharf::broker {

namespace {
int32_t next_seq(int32_t s) { return s == INT32_MAX ? 0 : s + 1; }
}

ProducerStateTable::Check ProducerStateTable::check(int64_t pid, int16_t epoch, int32_t first_seq,
                                                    int32_t last_seq) const {
  auto it = entries_.find(pid);
  if (it == entries_.end()) {
    // A new producer (or one whose state is gone) must start at sequence 0.
    return first_seq == 0 ? Check{} : Check{Verdict::kOutOfOrder, -1};
  }
  const Entry& e = it->second;
  if (epoch < e.epoch) return Check{Verdict::kInvalidEpoch, -1};
  if (epoch > e.epoch) return first_seq == 0 ? Check{} : Check{Verdict::kOutOfOrder, -1};
  for (auto& b : e.recent)
    if (b.first_seq == first_seq && b.last_seq == last_seq) return Check{Verdict::kDuplicate, b.first_offset};
  if (e.recent.empty()) return first_seq == 0 ? Check{} : Check{Verdict::kOutOfOrder, -1};
  if (first_seq != next_seq(e.recent.back().last_seq)) return Check{Verdict::kOutOfOrder, -1};
  return Check{};
}

void ProducerStateTable::record(int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                                int64_t first_offset, int64_t last_offset) {
  Entry& e = entries_[pid];
  if (epoch != e.epoch) {
    e.epoch = epoch;
    e.recent.clear();
  }
  e.recent.push_back(BatchMeta{first_seq, last_seq, first_offset, last_offset});
  while (e.recent.size() > kMaxBatches) e.recent.pop_front();
}

status ProducerStateTable::save(const std::string& path, int64_t covered_offset) const {
  std::vector<uint8_t> buf;
  auto put = [&](const void* p, size_t n) { buf.insert(buf.end(), (const uint8_t*)p, (const uint8_t*)p + n); };
  auto be16 = [&](uint16_t v) { uint8_t b[2]; store_be16(b, v); put(b, 2); };
  auto be32 = [&](uint32_t v) { uint8_t b[4]; store_be32(b, v); put(b, 4); };
  auto be64 = [&](uint64_t v) { uint8_t b[8]; store_be64(b, v); put(b, 8); };
  put("WPS1", 4);
  be64(uint64_t(covered_offset));
  be32(uint32_t(entries_.size()));
  for (auto& [pid, e] : entries_) {
    be64(uint64_t(pid));
    be16(uint16_t(e.epoch));
    buf.push_back(uint8_t(e.recent.size()));
    for (auto& b : e.recent) {
      be32(uint32_t(b.first_seq));
      be32(uint32_t(b.last_seq));
      be64(uint64_t(b.first_offset));
      be64(uint64_t(b.last_offset));
    }
  }
  be32(crc32c(buf.data(), buf.size()));
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::kIo, "open " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, buf.data(), buf.size()) == ssize_t(buf.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(Errc::kIo, "write " + path + ": " + std::strerror(errno));
  return {};
}

int64_t ProducerStateTable::load(const std::string& path) {
  entries_.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::vector<uint8_t> buf;
  uint8_t tmp[65536];
  ssize_t n;
  while ((n = ::read(fd, tmp, sizeof tmp)) > 0) buf.insert(buf.end(), tmp, tmp + n);
  ::close(fd);
  auto bad = [&] {
    WLOG_WARN("broker", "ignoring damaged producer snapshot {}", path);
    entries_.clear();
    return int64_t(0);
  };
  if (buf.size() < 20 || std::memcmp(buf.data(), "WPS1", 4) != 0) return bad();
  if (load_be32(buf.data() + buf.size() - 4) != crc32c(buf.data(), buf.size() - 4)) return bad();
  size_t pos = 4, end = buf.size() - 4;
  auto need = [&](size_t k) { return pos + k <= end; };
  int64_t covered = int64_t(load_be64(buf.data() + pos));
  pos += 8;
  uint32_t count = load_be32(buf.data() + pos);
  pos += 4;
  for (uint32_t i = 0; i < count; ++i) {
    if (!need(11)) return bad();
    int64_t pid = int64_t(load_be64(buf.data() + pos));
    int16_t epoch = int16_t(load_be16(buf.data() + pos + 8));
    uint8_t nb = buf[pos + 10];
    pos += 11;
    Entry& e = entries_[pid];
    e.epoch = epoch;
    for (uint8_t k = 0; k < nb; ++k) {
      if (!need(24)) return bad();
      BatchMeta b;
      b.first_seq = int32_t(load_be32(buf.data() + pos));
      b.last_seq = int32_t(load_be32(buf.data() + pos + 4));
      b.first_offset = int64_t(load_be64(buf.data() + pos + 8));
      b.last_offset = int64_t(load_be64(buf.data() + pos + 16));
      pos += 24;
      e.recent.push_back(b);
    }
  }
  return covered;
}

}  // namespace wharf::broker
