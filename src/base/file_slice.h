// A byte range of an open file, kept alive by `owner`. Storage hands these out
// for reads so the network layer can sendfile() stored bytes without copying
// them through user space.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace wharf {

struct FileSlice {
  std::shared_ptr<const void> owner;  // keeps the fd open while the slice lives
  int fd = -1;
  int64_t pos = 0;   // byte position in the file
  size_t len = 0;
};

}  // namespace wharf
