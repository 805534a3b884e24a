#include "storage/segment.h"

#include <charconv>

#include <fmt/format.h>

#include "storage/format.h"

namespace wharf::storage {

std::string segment_file_name(const std::string& dir, int64_t base, std::string_view suffix) {
  return fmt::format("{}/{:020d}{}", dir, base, suffix);
}

std::optional<int64_t> parse_segment_name(std::string_view name, std::string_view suffix) {
  if (name.size() != format::kNameDigits + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  int64_t v = 0;
  const char* b = name.data();
  const char* e = b + format::kNameDigits;
  for (const char* p = b; p < e; p++) {
    if (*p < '0' || *p > '9') return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || ptr != e || v < 0) return std::nullopt;
  return v;
}

result<BatchHeader> HeaderWalker::at(uint64_t pos) {
  using namespace batch_layout;
  if (pos + kHeaderSize > size_) {
    return make_error(Errc::kCorrupt, fmt::format("{}: short batch header at byte {}", file_.path(), pos));
  }
  if (pos < buf_pos_ || pos + kHeaderSize > buf_pos_ + buf_len_) {
    buf_.resize(kBufSize);
    size_t want = size_t(std::min<uint64_t>(kBufSize, size_ - pos));
    auto n = file_.pread(pos, std::span(buf_.data(), want));
    if (!n.ok()) return n.error();
    buf_pos_ = pos;
    buf_len_ = *n;
    if (buf_len_ < kHeaderSize) {
      return make_error(Errc::kCorrupt, fmt::format("{}: short batch header at byte {}", file_.path(), pos));
    }
  }
  auto h = parse_batch_header(std::span<const uint8_t>(buf_.data() + (pos - buf_pos_), kHeaderSize));
  if (!h.ok()) return h;
  if (h->magic != kMagicV2 || h->batch_length < int32_t(kHeaderSize - kLogOverhead) ||
      pos + h->total_size() > size_ || h->last_offset_delta < 0) {
    return make_error(Errc::kCorrupt, fmt::format("{}: bad batch header at byte {}", file_.path(), pos));
  }
  return h;
}

}  // namespace wharf::storage
