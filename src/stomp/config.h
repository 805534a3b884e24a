// Settings of the STOMP front end (keys `stomp.*` in src/app/config.cc).
#pragma once

#include <cstdint>
#include <string>

namespace wharf::stomp {

struct StompConfig {
  std::string listen = "0.0.0.0:61613";
  // STOMP over WebSocket; "" = off. 61614 is ActiveMQ's ws port.
  std::string ws_listen = "0.0.0.0:61614";
  std::string ws_path = "/ws";
  // Frame limits (protocol/frame_parser.h): larger frames get an ERROR.
  uint64_t max_body_bytes = 16 << 20;
  uint32_t max_header_line_bytes = 8192;
  uint32_t max_headers = 128;
  // Heart-beats: the least interval (ms) the server asks clients to keep
  // (a client offering less is held to this); 0 = none required.
  uint32_t heartbeat_ms = 10000;
  // A client must send CONNECT within this time.
  uint32_t connect_timeout_ms = 10000;
  // The user of a CONNECT without login (must exist in the registry; its
  // loopback restriction still applies). "" = login required.
  std::string default_login = "guest";
  // Redeliveries of a message (NACK, unacked at disconnect) before it goes
  // to its queue's dead-letter queue DLQ.<queue> (ActiveMQ's
  // maximumRedeliveries).
  uint32_t max_redeliveries = 6;
  // Unacked messages per client / client-individual subscription unless the
  // SUBSCRIBE says otherwise (activemq.prefetchSize, prefetch-count).
  uint32_t default_prefetch = 1000;
  // Frames queued while the session waits for another shard; past this the
  // socket is no longer read until they ran.
  uint32_t max_backlog_frames = 4096;
};

}  // namespace wharf::stomp
