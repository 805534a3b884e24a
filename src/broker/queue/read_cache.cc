#include "broker/queue/read_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/logging.h"
#include "storage/record_batch.h"
#include "storage/read_slices.h"

namespace wharf::broker::queue {

void ReadCache::clear() {
  buf_.reset();
  records_.clear();
  from_ = to_ = 0;
}

result<const RecordRef*> ReadCache::find(const storage::Log& log, int64_t offset) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (buf_ && offset >= from_ && offset < to_) {
      auto it = std::lower_bound(records_.begin(), records_.end(), offset,
                                 [](const RecordRef& r, int64_t o) { return r.offset < o; });
      if (it != records_.end()) return &*it;
      offset = to_;  // a gap (skipped batch) up to the window's end: continue after it
    }
    if (offset >= log.end_offset().value) return static_cast<const RecordRef*>(nullptr);
    if (auto st = load(log, offset); !st.ok()) return st.error();
  }
  return make_error(Errc::kCorrupt, fmt::format("no readable record at or after offset {}", offset));
}

status ReadCache::load(const storage::Log& log, int64_t offset) {
  auto rr = log.read(Offset(offset), window_, /*min_one=*/true);
  if (!rr.ok()) return rr.error();
  ++reads_;
  auto buf = std::make_shared<std::vector<uint8_t>>();
  buf->reserve(std::max(window_, rr->bytes));
  buf->resize(rr->bytes);
  if (auto st = storage::read_slices(rr->slices, *buf, "queue", offset); !st.ok()) return st;
  buf_ = std::move(buf);
  records_.clear();
  from_ = offset;
  to_ = offset;
  index_from(0);
  // Offsets below the first batch (a gap left by recovery) count as read.
  if (to_ == offset && !buf_->empty()) to_ = offset + 1;
  return {};
}

void ReadCache::index_from(size_t pos) {
  const std::vector<uint8_t>& b = *buf_;
  while (b.size() - pos >= storage::batch_layout::kHeaderSize) {
    std::span<const uint8_t> rest(b.data() + pos, b.size() - pos);
    auto h = storage::parse_batch_header(rest);
    if (!h.ok() || h->total_size() > rest.size() || h->total_size() < storage::batch_layout::kHeaderSize) {
      WLOG_ERROR("queue", "unreadable batch header in a queue log near offset {}", to_);
      break;
    }
    auto batch = rest.subspan(0, h->total_size());
    if (auto st = storage::validate_batch(batch); !st.ok()) {
      WLOG_ERROR("queue", "skipping batch at offset {}: {}", h->base_offset, st.error().message);
    } else if (auto st2 = parse_records(batch, records_); !st2.ok()) {
      WLOG_ERROR("queue", "skipping batch at offset {}: {}", h->base_offset, st2.error().message);
    }
    to_ = std::max(to_, h->last_offset() + 1);
    pos += h->total_size();
  }
}

void ReadCache::on_append(int64_t offset, std::span<const uint8_t> batch, bool fresh) {
  if (buf_ && offset == to_ && buf_->size() + batch.size() <= buf_->capacity()) {
    size_t at = buf_->size();
    buf_->insert(buf_->end(), batch.begin(), batch.end());  // within capacity: nothing moves
    index_from(at);
    return;
  }
  if (!fresh) return;
  auto buf = std::make_shared<std::vector<uint8_t>>();
  buf->reserve(std::max(window_, batch.size()));
  buf->assign(batch.begin(), batch.end());
  buf_ = std::move(buf);
  records_.clear();
  from_ = to_ = offset;
  index_from(0);
}

}  // namespace wharf::broker::queue

