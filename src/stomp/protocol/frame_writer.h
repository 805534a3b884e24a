// Encodes STOMP frames (layout in frame.h) for a negotiated version.
//
// Output uses LF line ends. Headers are escaped as the version requires (1.0
// none; 1.1 \n \c \\ ; 1.2 also \r) except in CONNECT/STOMP/CONNECTED, which
// are never escaped. Any content-length header in the frame is dropped and,
// when the body is non-empty, the writer appends the real one, so bodies with
// NULs always survive.
//
// A header that the version cannot carry is an error (kInvalidArgument) and
// nothing is appended: a name with ':' or any LF without escaping, a value
// with LF without escaping, or (where CRLF ends lines: unescaped handshake
// frames, 1.2) a trailing CR that 1.2 cannot escape. The same for a command
// that is empty or holds CR/LF.
#pragma once

#include <string>

#include "base/result.h"
#include "stomp/protocol/frame.h"

namespace wharf::stomp {

// Appends the encoded frame to `out`.
status encode_frame(const Frame& frame, Version version, std::string& out);

// Appends a header name or value escaped for `v` (1.0: verbatim, so the
// caller must know it holds no LF, and no ':' in a name). For writers that
// build frames without a Frame (the MESSAGE fast path).
void append_escaped(std::string_view in, Version v, std::string& out);

// One heart-beat (an EOL).
inline void encode_heartbeat(std::string& out) { out.push_back('\n'); }

}  // namespace wharf::stomp
