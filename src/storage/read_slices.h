// Copies the bytes of a Log::read() result (file slices) into memory, for
// readers that decode records themselves (queue read windows, stream
// cursors) instead of sending the slices with sendfile.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/file_slice.h"
#include "base/result.h"

namespace wharf::storage {

// REQUIRES: out.size() >= the slices' total length. kIo on a failed or
// short read; `what` and `offset` name the read in the error.
status read_slices(const std::vector<FileSlice>& slices, std::span<uint8_t> out, std::string_view what,
                   int64_t offset);

}  // namespace wharf::storage
