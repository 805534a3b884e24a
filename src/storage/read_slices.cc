#include "storage/read_slices.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace wharf::storage {

status read_slices(const std::vector<FileSlice>& slices, std::span<uint8_t> out, std::string_view what,
                   int64_t offset) {
  size_t at = 0;
  for (const auto& s : slices) {
    size_t done = 0;
    while (done < s.len) {
      ssize_t n = ::pread(s.fd, out.data() + at + done, s.len - done, off_t(s.pos + int64_t(done)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return make_error(Errc::kIo, fmt::format("{} read at offset {}: {}", what, offset,
                                                 n < 0 ? std::strerror(errno) : "short read"));
      }
      done += size_t(n);
    }
    at += s.len;
  }
  return {};
}

}  // namespace wharf::storage
