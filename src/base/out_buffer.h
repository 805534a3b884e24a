// OutBuffer: an outgoing byte stream made of memory chunks and file slices.
// Encoders append into memory; stored record bytes are appended as FileSlices
// and sent with sendfile(). Positions are absolute over the whole stream.
//
// Thread rules: not thread-safe; owned by one connection at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "base/file_slice.h"

namespace wharf {

class OutBuffer {
 public:
  struct Chunk {
    std::vector<uint8_t> mem;  // used when slice.fd < 0
    FileSlice slice;
    size_t size() const { return slice.fd >= 0 ? slice.len : mem.size(); }
    bool is_file() const { return slice.fd >= 0; }
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void append(const void* data, size_t len);
  void append(std::span<const uint8_t> s) { append(s.data(), s.size()); }
  void append_u8(uint8_t v) { append(&v, 1); }
  void append_be16(uint16_t v);
  void append_be32(uint32_t v);
  void append_be64(uint64_t v);

  // Appends a file range; it is sent by sendfile() in stream order.
  void append_file(FileSlice slice);

  // Overwrites 4 bytes at absolute position `pos`, which must lie in a memory
  // chunk (used to back-patch length prefixes).
  void patch_be32(size_t pos, uint32_t v);

  // Puts `bytes` in a chunk of their own before everything else (a frame
  // header in front of an encoded payload, without copying the payload).
  void prepend(std::span<const uint8_t> bytes);

  // Moves all chunks of `other` to the end of this buffer.
  void append_buffer(OutBuffer&& other);

  std::vector<Chunk>& chunks() { return chunks_; }
  const std::vector<Chunk>& chunks() const { return chunks_; }

  // Flattens to contiguous bytes, reading file slices with pread. For tests
  // and for small responses only.
  std::vector<uint8_t> to_bytes() const;

  void clear() { chunks_.clear(); size_ = 0; }

 private:
  std::vector<uint8_t>& tail_mem();
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
};

}  // namespace wharf
