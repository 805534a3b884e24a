// The on-disk format of the scheduled-delivery engine's slot files
// (docs/storage-format.md, "Delayed messages").
//
// A slot file holds the entries due in one time slot [index*slot_ms,
// (index+1)*slot_ms) and is named slot-<index, 20 decimal digits>.wdl.
// It is append-only; a record is
//
//   record := length:u32 crc:u32 body[length]     (integers big-endian)
//             crc = CRC-32C of body; 1 <= length <= kMaxBody
//
//   body, kind 1 (kEntry): one pending delivery
//     off  0  kind      u8  = 1
//     off  1  due_ms    i64   when to fire (ms since the epoch)
//     off  9  base_ms   i64   Occurrence::base (t0 or the cron time of this run)
//     off 17  delay_ms  i64   Schedule
//     off 25  period_ms i64
//     off 33  repeat    i32
//     off 37  k         i32   deliveries already made in this run
//     off 41  cron, vhost, exchange, routing_key, queue:
//             each u16 length + bytes (cron "" = none)
//     then    the message: the rest of the body is one Kafka RecordBatch v2
//             with one record, exactly as queues store messages
//             (queue/message_codec.h), so it carries its own CRC as well
//
//   body, kind 2 (kFired): the entry at file position `pos` has fired and
//   every copy it produced was stored as durably as its message asked
//     off  0  kind      u8  = 2
//     off  1  pos       u64   position of that entry's length field
//
// A kFired record always follows the entry it names. Recovery reads records
// until the first one whose length or CRC is wrong and truncates the file
// there (a torn append at a crash); what remains is every entry not named by
// a kFired record of the same file.
//
// Thread rules: stateless functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"
#include "broker/delay/schedule.h"

namespace wharf::broker::delay::slot_format {

inline constexpr size_t kHeaderSize = 8;  // length + crc
inline constexpr uint32_t kMaxBody = 128u << 20;
inline constexpr uint8_t kEntry = 1;
inline constexpr uint8_t kFired = 2;
inline constexpr size_t kEntryFixed = 41;  // kEntry body bytes before the strings
inline constexpr size_t kFiredSize = 9;    // kFired body bytes
static_assert(kEntryFixed == 1 + 8 * 4 + 4 * 2, "kEntry fixed fields");
static_assert(kFiredSize == 1 + 8, "kFired body");

// "slot-00000000000000123456.wdl" for index 123456; parse_name is the inverse
// (false for other names).
std::string file_name(int64_t index);
bool parse_name(std::string_view name, int64_t* index);

struct EntryView {
  Occurrence occ;
  Schedule schedule;
  DelayTarget target;
  std::span<const uint8_t> batch;  // aliases the decoded body
};

// Appends a whole kEntry record to `out`.
void append_entry(const Occurrence& occ, const Schedule& s, const DelayTarget& t, std::span<const uint8_t> batch,
                  std::string& out);
// Appends a whole kFired record naming the record at `pos`.
void append_fired(uint64_t pos, std::string& out);
// Appends a copy of the kEntry record `record` (header included) with its
// occurrence replaced by `occ` and its CRC recomputed.
void append_rescheduled(std::span<const uint8_t> record, const Occurrence& occ, std::string& out);

// The body length announced by a record header, 0 if it is impossible.
uint32_t body_length(const uint8_t* header);
// Whether `body` matches the CRC in `header`.
bool crc_ok(const uint8_t* header, std::span<const uint8_t> body);
// Decodes a kEntry body (CRC already checked). kCorrupt if malformed.
result<EntryView> decode_entry(std::span<const uint8_t> body);

}  // namespace wharf::broker::delay::slot_format
