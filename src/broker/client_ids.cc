#include "broker/client_ids.h"

namespace wharf::broker {

namespace {
std::atomic<uint64_t> g_connection{1};
std::atomic<uint64_t> g_session{1};
}  // namespace

uint64_t next_connection_id() { return g_connection.fetch_add(1, std::memory_order_relaxed); }
uint64_t next_session_id() { return g_session.fetch_add(1, std::memory_order_relaxed); }

}  // namespace wharf::broker
