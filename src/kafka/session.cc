#include "kafka/session.h"

#include "base/endian.h"
#include "base/logging.h"
#include "kafka/handlers.h"
#include "kafka/protocol/generated/api_keys.h"
#include "kafka/protocol/generated/api_versions.h"
#include "kafka/request.h"

namespace wharf::kafka {

SessionCore::SessionCore(broker::Broker& b, const KafkaConfig& c, std::weak_ptr<net::Connection> cn, uint16_t p)
    : broker(b), config(c), conn(std::move(cn)), port(p) {}

void SessionCore::complete(uint64_t seq, std::optional<OutBuffer> frame) {
  if (closed) return;
  done.emplace(seq, std::move(frame));
  auto c = conn.lock();
  if (!c) return;
  bool was_full = inflight >= size_t(config.max_inflight_per_connection);
  while (!done.empty() && done.begin()->first == next_to_send) {
    auto& f = done.begin()->second;
    if (f) c->send(std::move(*f));
    done.erase(done.begin());
    ++next_to_send;
    --inflight;
  }
  if (was_full && inflight < size_t(config.max_inflight_per_connection)) c->resume_reading();
}

void SessionCore::fail(const std::string& why) {
  if (closed) return;
  WLOG_WARN("kafka", "closing connection from {}: {}", client_host, why);
  if (auto c = conn.lock()) c->close();
  closed = true;
}

broker::Broker& Request::broker() const { return session->broker; }
const KafkaConfig& Request::config() const { return session->config; }
const std::string& Request::client_host() const { return session->client_host; }
uint16_t Request::port() const { return session->port; }

void send_response(const RequestPtr& req, OutBuffer&& body) {
  // Frame: int32 size | response header | body.
  OutBuffer frame;
  frame.append_be32(0);
  frame.append_be32(uint32_t(req->correlation_id));
  if (msg::response_header_version(req->api_key, req->api_version) >= 1) frame.append_u8(0);  // no tagged fields
  frame.append_buffer(std::move(body));
  frame.patch_be32(0, uint32_t(frame.size() - 4));
  req->session->complete(req->seq, std::move(frame));
}

void send_no_response(const RequestPtr& req) { req->session->complete(req->seq, std::nullopt); }

void close_for_bad_request(const RequestPtr& req, const std::string& why) {
  auto name = msg::find_api(req->api_key);
  req->session->fail(std::string(name ? name->name : "request") + " v" + std::to_string(req->api_version) + ": " +
                     why);
}

KafkaSession::KafkaSession(broker::Broker& b, const KafkaConfig& c, const std::shared_ptr<net::Connection>& conn,
                           uint16_t port)
    : core_(std::make_shared<SessionCore>(b, c, conn, port)) {
  auto& peer = conn->peer();
  core_->client_host = peer.substr(0, peer.rfind(':'));
}

void KafkaSession::on_close() { core_->closed = true; }

result<size_t> KafkaSession::on_data(const net::Block& block, std::span<uint8_t> data, size_t* want) {
  size_t used = 0;
  while (data.size() - used >= 4) {
    if (core_->inflight >= size_t(core_->config.max_inflight_per_connection)) {
      if (auto c = core_->conn.lock()) c->pause_reading();
      break;
    }
    int32_t size = int32_t(load_be32(data.data() + used));
    if (size < 8 || size > core_->config.max_request_bytes)
      return make_error(Errc::kInvalidArgument, "request size " + std::to_string(size) + " outside [8, " +
                                                    std::to_string(core_->config.max_request_bytes) + "]");
    if (data.size() - used < 4 + size_t(size)) {
      *want = 4 + size_t(size);
      break;
    }
    auto st = dispatch(block, data.subspan(used + 4, size_t(size)));
    if (!st.ok()) return st.error();
    used += 4 + size_t(size);
    if (core_->closed) break;
  }
  return used;
}

status KafkaSession::dispatch(const net::Block& block, std::span<uint8_t> frame) {
  auto req = std::make_shared<Request>();
  req->session = core_;
  req->block = block;
  Reader r(frame);
  req->api_key = r.read_int16();
  req->api_version = r.read_int16();
  req->correlation_id = r.read_int32();
  req->client_id = r.read_nullable_string();
  const Handler* h = find_handler(req->api_key);
  if (!h) return make_error(Errc::kUnsupported, "unknown API key " + std::to_string(req->api_key));
  int16_t hv = msg::request_header_version(req->api_key, req->api_version);
  if (hv >= 2) r.skip_tags();
  if (!r.ok()) return make_error(Errc::kInvalidArgument, "malformed request header");
  req->body = r.rest();
  req->seq = core_->next_seq++;
  ++core_->inflight;
  if (req->api_version < h->min_version || req->api_version > h->max_version) {
    // KIP-511: ApiVersions of an unknown version is answered (as v0) with
    // UNSUPPORTED_VERSION and our ranges; any other API closes the connection.
    if (req->api_key == msg::ApiVersionsRequest::kApiKey) {
      answer_unsupported_api_versions(req);
      return {};
    }
    return make_error(Errc::kUnsupported, std::string(msg::find_api(req->api_key)->name) + " v" +
                                              std::to_string(req->api_version) + " is not supported");
  }
  h->fn(req);
  return {};
}

}  // namespace wharf::kafka
