// The broker's version, as printed by `wharf version` and advertised to
// clients (AMQP server-properties).
#pragma once

namespace wharf {

inline constexpr const char* kWharfVersion = "0.1.0";

}  // namespace wharf
