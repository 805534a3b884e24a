// Request: one decoded Kafka request on its way through a handler.
//
// Lifetime: shared_ptr; handlers may finish asynchronously on the
// connection's shard (after hops to partition or group shards). The request
// keeps its receive block alive, so views into the frame (records) stay valid.
//
// Thread rules: created, answered and destroyed on the connection's shard.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/out_buffer.h"
#include "broker/broker.h"
#include "kafka/config.h"
#include "kafka/protocol/wire.h"
#include "net/session.h"

namespace wharf::kafka {

class SessionCore;

struct Request {
  std::shared_ptr<SessionCore> session;
  net::Block block;           // keeps `body` alive
  std::span<uint8_t> body;    // request body after the header
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  uint64_t seq = 0;           // position in the connection's response order

  broker::Broker& broker() const;
  const KafkaConfig& config() const;
  const std::string& client_host() const;
  uint16_t port() const;      // the Kafka listener's bound port (for metadata)
};

using RequestPtr = std::shared_ptr<Request>;

// Sends `body` (already encoded for req's version) with its response header.
void send_response(const RequestPtr& req, OutBuffer&& body);
// Marks the request answered without a response (Produce with acks=0).
void send_no_response(const RequestPtr& req);

// Encodes and sends a generated response struct.
template <class Msg>
void respond(const RequestPtr& req, const Msg& msg) {
  OutBuffer body;
  Writer w(body);
  msg.encode(w, req->api_version);
  send_response(req, std::move(body));
}

// Decodes the body into a generated request struct. False: malformed.
template <class Msg>
bool decode(const RequestPtr& req, Msg& msg) {
  Reader r(req->body);
  return msg.decode(r, req->api_version) && r.ok();
}

// A handler answers exactly once (respond / send_no_response) or fails the
// connection through close_for_bad_request().
using HandlerFn = void (*)(const RequestPtr& req);
void close_for_bad_request(const RequestPtr& req, const std::string& why);

struct Handler {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  HandlerFn fn;
};

}  // namespace wharf::kafka
