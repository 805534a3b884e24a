// Message <-> Kafka record: a queued message is stored as one record of a
// Kafka RecordBatch v2, so the same bytes are readable by Kafka clients (see
// docs/storage-format.md, "Queue messages", for the full table).
//
//   batch   magic 2, uncompressed, CreateTime, producerId -1, one record,
//           baseTimestamp = maxTimestamp = enqueue time (ms), CRC-32C set
//   record  timestampDelta 0, offsetDelta 0
//           key   = routing key (null when empty)
//           value = body
//           headers, in this order:
//             properties, each only when set, value = UTF-8 text:
//               wharf.exchange, wharf.content-type, wharf.content-encoding,
//               wharf.delivery-mode ("1"|"2"), wharf.priority ("0".."255"),
//               wharf.correlation-id, wharf.reply-to,
//               wharf.expiration (decimal ms), wharf.message-id,
//               wharf.timestamp (decimal seconds), wharf.type, wharf.user-id,
//               wharf.app-id
//             wharf.x-death   dead-letter history, binary value encoding (below)
//             wharf.types     one type letter per application header, in
//                             order; written only when some header is not text
//             application headers, in order, duplicates kept; a name that
//             starts with "wharf." is stored as "wharf.h." + name
//
// Application header values are text where text exists, so Kafka consumers
// can read them: text as is ('S'), bytes as is ('x'), integers in decimal
// ('l'), doubles in shortest round-trip form ('d'), "true"/"false" ('t'),
// null as a null header value ('V'), timestamps as decimal seconds ('T'),
// decimals as exact decimal text with `scale` fraction digits ('D', "123.45";
// see decimal_text in value.h). Lists ('A') and tables ('F') use the binary
// value encoding:
//
//   value := tag:u8 payload      (integers big-endian)
//     'V' -         't' u8 (0|1)     'l' i64       'd' f64 (IEEE bits as u64)
//     'T' i64 seconds               'S','x' u32 len, bytes
//     'A' u32 count, value*         'F' u32 count, (u32 name_len, name, value)*
//     'D' u8 scale, i32 digits      (as AMQP's 'D')
//
// 'D' was added after the first release of this format; records without it
// decode as before, but a version older than 'D' rejects a record that uses it.
//
// Without wharf.types every application header decodes as text (what a
// Kafka producer's headers become). Unknown wharf.* headers are ignored.
//
// Thread rules: stateless functions; a BatchEncoder is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/queue/message.h"

namespace wharf::broker::queue {

namespace record_header {
inline constexpr std::string_view kPrefix = "wharf.";
inline constexpr std::string_view kEscapedPrefix = "wharf.h.";
inline constexpr std::string_view kExchange = "wharf.exchange";
inline constexpr std::string_view kContentType = "wharf.content-type";
inline constexpr std::string_view kContentEncoding = "wharf.content-encoding";
inline constexpr std::string_view kDeliveryMode = "wharf.delivery-mode";
inline constexpr std::string_view kPriority = "wharf.priority";
inline constexpr std::string_view kCorrelationId = "wharf.correlation-id";
inline constexpr std::string_view kReplyTo = "wharf.reply-to";
inline constexpr std::string_view kExpiration = "wharf.expiration";
inline constexpr std::string_view kMessageId = "wharf.message-id";
inline constexpr std::string_view kTimestamp = "wharf.timestamp";
inline constexpr std::string_view kType = "wharf.type";
inline constexpr std::string_view kUserId = "wharf.user-id";
inline constexpr std::string_view kAppId = "wharf.app-id";
inline constexpr std::string_view kDeath = "wharf.x-death";
inline constexpr std::string_view kTypes = "wharf.types";
}  // namespace record_header

// Type letters of wharf.types and tags of the binary value encoding.
namespace value_tag {
inline constexpr char kNull = 'V';
inline constexpr char kBool = 't';
inline constexpr char kInt = 'l';
inline constexpr char kDouble = 'd';
inline constexpr char kTimestamp = 'T';
inline constexpr char kString = 'S';
inline constexpr char kBytes = 'x';
inline constexpr char kList = 'A';
inline constexpr char kTable = 'F';
inline constexpr char kDecimal = 'D';
inline constexpr int kMaxDepth = 32;  // nesting accepted when decoding
}  // namespace value_tag

// Encodes messages into batches, reusing its scratch buffers so that steady
// state publishing does not allocate.
class BatchEncoder {
 public:
  // Replaces `out` with one RecordBatch v2 holding `m` stamped `timestamp_ms`
  // (CRC set, baseOffset 0: the log assigns it). The body is copied once,
  // into `out`.
  void encode(const Message& m, int64_t timestamp_ms, std::vector<uint8_t>& out);

 private:
  std::string prefix_;   // record fields before the value
  std::string headers_;  // header count + headers
};

// One record of a batch held in memory; the spans alias that memory.
struct RecordRef {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  bool key_null = true;
  std::span<const uint8_t> key;
  std::span<const uint8_t> value;    // empty for a null value
  std::span<const uint8_t> headers;  // the encoded headers after the count
  int64_t header_count = 0;
};

// Appends one RecordRef per record of `batch` (a whole, CRC-checked batch).
// Control batches yield nothing. kUnsupported for compressed batches,
// kCorrupt for malformed records.
status parse_records(std::span<const uint8_t> batch, std::vector<RecordRef>& out);

// Decodes a record into a Message whose body aliases r.value, kept alive by
// `owner`. kCorrupt for malformed headers.
result<Message> decode_record(const RecordRef& r, const std::shared_ptr<const void>& owner);

// The binary value encoding (exposed for tests and tools).
void encode_value(const Value& v, std::string& out);
result<Value> decode_value(std::span<const uint8_t> bytes);

}  // namespace wharf::broker::queue
