// On-disk constants of a log directory (docs/storage-format.md).
//
// <dir>/NNNNNNNNNNNNNNNNNNNN.log        RecordBatch v2 bytes, back to back
// <dir>/NNNNNNNNNNNNNNNNNNNN.index      offset index entries (8 bytes each)
// <dir>/NNNNNNNNNNNNNNNNNNNN.timeindex  time index entries (12 bytes each)
// NNN = segment base offset, 20 decimal digits, zero padded.
//
// Offset index entry (big-endian), one per index_interval_bytes of log:
//   @0 relative offset uint32  (batch base offset - segment base offset)
//   @4 file position   uint32  (byte position of that batch in the .log)
// Time index entry (big-endian), appended when the running max timestamp grew:
//   @0 timestamp       int64   max timestamp of all batches up to and including
//                              the batch at the relative offset below
//   @8 relative offset uint32  base offset of that batch - segment base offset
// Both are append-only and sorted; entries past the end of the .log or not on
// a batch boundary are discarded on recovery. A segment is < 4 GiB so uint32
// positions suffice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wharf::storage::format {

inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
inline constexpr size_t kNameDigits = 20;  // enough for INT64_MAX (19 digits)

inline constexpr size_t kIndexEntrySize = 8;
inline constexpr size_t kIndexRelOffset = 0;
inline constexpr size_t kIndexPosition = 4;
static_assert(kIndexPosition + 4 == kIndexEntrySize);

inline constexpr size_t kTimeEntrySize = 12;
inline constexpr size_t kTimeTimestamp = 0;
inline constexpr size_t kTimeRelOffset = 8;
static_assert(kTimeRelOffset + 4 == kTimeEntrySize);

// Positions and relative offsets are uint32: segments stay below 4 GiB.
inline constexpr uint64_t kMaxSegmentBytes = uint64_t(UINT32_MAX);

}  // namespace wharf::storage::format
