// Small helpers shared by the handlers.
#pragma once

#include <string>

#include "base/error.h"
#include "kafka/protocol/error_code.h"
#include "kafka/request.h"

namespace wharf::kafka {

// Maps a broker error to the Kafka error code a client acts on.
int16_t to_kafka_error(Errc e);

// Host name clients should connect to (metadata, coordinators).
std::string advertised_host(const RequestPtr& req);

int64_t now_ms();

}  // namespace wharf::kafka
