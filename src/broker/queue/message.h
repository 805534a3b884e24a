// Message: one protocol-neutral queued message (properties, headers, body)
// and its dead-letter history. Front ends translate their wire form to and
// from it; message_codec.h stores it as one Kafka record.
//
// Thread rules: plain values. A Body's bytes are immutable and shared, so a
// Message may be copied or moved to another thread freely (the owner keeps
// the bytes alive).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/queue/value.h"

namespace wharf::broker::queue {

// Immutable message bytes plus whatever keeps them alive. A body read from a
// queue aliases the read buffer it was decoded from (no copy); a body built
// by a front end may alias its frame buffer. Copying a Body copies a
// shared_ptr, never the bytes.
class Body {
 public:
  Body() = default;
  // `bytes` must stay valid while `owner` lives.
  Body(std::shared_ptr<const void> owner, std::span<const uint8_t> bytes)
      : owner_(std::move(owner)), bytes_(bytes) {}

  // Copies the bytes into a new shared buffer.
  static Body copy_of(std::span<const uint8_t> bytes);
  static Body copy_of(std::string_view text);
  // Takes ownership of `bytes` without copying them.
  static Body from(std::string bytes);
  static Body from(std::vector<uint8_t> bytes);

  std::span<const uint8_t> bytes() const { return bytes_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()}; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const std::shared_ptr<const void>& owner() const { return owner_; }

  bool operator==(const Body& o) const { return view() == o.view(); }

 private:
  std::shared_ptr<const void> owner_;
  std::span<const uint8_t> bytes_;
};

inline constexpr uint8_t kDeliveryModeTransient = 1;
inline constexpr uint8_t kDeliveryModePersistent = 2;

// The AMQP basic properties (which STOMP/JMS headers map onto), each absent
// unless set. cluster-id (deprecated) is not kept.
struct Properties {
  std::optional<std::string> content_type;
  std::optional<std::string> content_encoding;
  std::optional<uint8_t> delivery_mode;    // 1 transient, 2 persistent
  std::optional<uint8_t> priority;         // 0..255; queues clamp to their max priority
  std::optional<std::string> correlation_id;
  std::optional<std::string> reply_to;
  std::optional<int64_t> expiration_ms;    // per-message TTL, >= 0 (AMQP sends it as decimal text)
  std::optional<std::string> message_id;
  std::optional<int64_t> timestamp;        // seconds since the epoch (AMQP 'timestamp')
  std::optional<std::string> type;
  std::optional<std::string> user_id;
  std::optional<std::string> app_id;

  bool persistent() const { return delivery_mode && *delivery_mode == kDeliveryModePersistent; }
  bool operator==(const Properties&) const = default;
};

// Why a message was dead-lettered (RabbitMQ's x-death "reason" values).
enum class DeathReason : uint8_t {
  kRejected = 1,       // nack/reject with requeue=false
  kExpired = 2,        // message TTL (queue x-message-ttl or per-message expiration)
  kMaxLen = 3,         // dropped by max-length / max-length-bytes overflow
  kDeliveryLimit = 4,  // returned more often than the delivery limit allows
};
// "rejected", "expired", "maxlen", "delivery_limit".
std::string_view death_reason_name(DeathReason r);
std::optional<DeathReason> parse_death_reason(std::string_view s);

// One x-death entry: how often the message died in `queue` for `reason`.
// Kept newest first; an entry for the same (queue, reason) is updated and
// moved to the front, as RabbitMQ does.
struct DeathRecord {
  std::string queue;
  DeathReason reason = DeathReason::kRejected;
  int64_t count = 0;
  std::string exchange;                    // exchange the message was published to
  std::vector<std::string> routing_keys;   // its routing key(s) then
  int64_t time = 0;                        // seconds since the epoch of the first death of this entry
  std::optional<int64_t> original_expiration_ms;  // the per-message expiration removed on death
  bool operator==(const DeathRecord&) const = default;
};

struct Message {
  std::string exchange;      // where it was published ("" = default exchange)
  std::string routing_key;
  Properties props;
  Table headers;             // application headers (AMQP "headers" table, STOMP custom headers)
  std::vector<DeathRecord> deaths;  // x-death history, newest first
  Body body;

  bool operator==(const Message&) const = default;
};

// RabbitMQ's x-death update: bumps the entry for (queue, reason) and moves
// it to the front, or prepends a new one with count 1 and time `now_s`.
void record_death(Message& m, std::string_view queue, DeathReason reason, int64_t now_s);

// x-death and its summary headers as a RabbitMQ client expects them (a List
// of Tables with queue, reason, count, time, exchange, routing-keys and
// original-expiration), for front ends that render it as a header.
Value deaths_to_value(const std::vector<DeathRecord>& deaths);
// The inverse; malformed entries are skipped.
std::vector<DeathRecord> deaths_from_value(const Value& v);

}  // namespace wharf::broker::queue
