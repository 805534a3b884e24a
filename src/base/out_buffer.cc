#include "base/out_buffer.h"

#include <unistd.h>

#include <cassert>

#include "base/endian.h"

namespace wharf {

std::vector<uint8_t>& OutBuffer::tail_mem() {
  if (chunks_.empty() || chunks_.back().is_file()) {
    chunks_.emplace_back();
    chunks_.back().mem.reserve(256);
  }
  return chunks_.back().mem;
}

void OutBuffer::append(const void* data, size_t len) {
  if (len == 0) return;
  auto& m = tail_mem();
  auto* p = static_cast<const uint8_t*>(data);
  m.insert(m.end(), p, p + len);
  size_ += len;
}

void OutBuffer::append_be16(uint16_t v) { uint8_t b[2]; store_be16(b, v); append(b, 2); }
void OutBuffer::append_be32(uint32_t v) { uint8_t b[4]; store_be32(b, v); append(b, 4); }
void OutBuffer::append_be64(uint64_t v) { uint8_t b[8]; store_be64(b, v); append(b, 8); }

void OutBuffer::append_file(FileSlice slice) {
  if (slice.len == 0) return;
  size_ += slice.len;
  Chunk c;
  c.slice = std::move(slice);
  chunks_.push_back(std::move(c));
}

void OutBuffer::patch_be32(size_t pos, uint32_t v) {
  size_t base = 0;
  for (auto& c : chunks_) {
    size_t n = c.size();
    if (pos < base + n) {
      assert(!c.is_file() && pos + 4 <= base + n);
      store_be32(c.mem.data() + (pos - base), v);
      return;
    }
    base += n;
  }
  assert(false && "patch_be32 past end");
}

void OutBuffer::append_buffer(OutBuffer&& other) {
  for (auto& c : other.chunks_) {
    if (!c.is_file() && !chunks_.empty() && !chunks_.back().is_file()) {
      auto& m = chunks_.back().mem;
      m.insert(m.end(), c.mem.begin(), c.mem.end());
    } else {
      chunks_.push_back(std::move(c));
    }
  }
  size_ += other.size_;
  other.clear();
}

void OutBuffer::prepend(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  Chunk c;
  c.mem.assign(bytes.begin(), bytes.end());
  chunks_.insert(chunks_.begin(), std::move(c));
  size_ += bytes.size();
}

std::vector<uint8_t> OutBuffer::to_bytes() const {
  std::vector<uint8_t> out;
  out.reserve(size_);
  for (auto& c : chunks_) {
    if (!c.is_file()) {
      out.insert(out.end(), c.mem.begin(), c.mem.end());
    } else {
      size_t start = out.size();
      out.resize(start + c.slice.len);
      size_t got = 0;
      while (got < c.slice.len) {
        ssize_t r = ::pread(c.slice.fd, out.data() + start + got, c.slice.len - got,
                            c.slice.pos + int64_t(got));
        if (r <= 0) break;
        got += size_t(r);
      }
    }
  }
  return out;
}

}  // namespace wharf
