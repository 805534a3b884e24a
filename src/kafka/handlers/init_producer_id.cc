// InitProducerId (key 22): ids for idempotent producers. A producer that
// passes its current id and epoch (KIP-360, v3+) gets the epoch bumped.
// Transactional ids are refused until transactions are implemented.
#include "kafka/handlers.h"
#include "kafka/handlers/common.h"
#include "kafka/protocol/generated/init_producer_id.h"

namespace wharf::kafka {

namespace {

void handle(const RequestPtr& req) {
  msg::InitProducerIdRequest r;
  if (!decode(req, r)) return close_for_bad_request(req, "malformed body");
  msg::InitProducerIdResponse resp;
  if (r.transactional_id && !r.transactional_id->empty()) {
    resp.error_code = 53;  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED: transactions are not available yet
    return respond(req, resp);
  }
  if (r.producer_id >= 0 && r.producer_epoch >= 0 && r.producer_epoch < INT16_MAX - 1) {
    resp.producer_id = r.producer_id;
    resp.producer_epoch = int16_t(r.producer_epoch + 1);
    return respond(req, resp);
  }
  auto id = req->broker().allocate_producer_id();
  if (!id.ok()) {
    resp.error_code = 15;  // COORDINATOR_NOT_AVAILABLE: retriable
    return respond(req, resp);
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  respond(req, resp);
}

}  // namespace

extern const Handler kInitProducerIdHandler{msg::InitProducerIdRequest::kApiKey, 0, 4, &handle};

}  // namespace wharf::kafka
