// Decoding of the SASL responses a client sends in connection.start-ok.
//
//   PLAIN     (RFC 4616)  [authzid] NUL user NUL password; the authorization
//                         identity is ignored (RabbitMQ does the same)
//   AMQPLAIN  (RabbitMQ)  the entries of a field table WITHOUT the table's
//                         leading 4-byte size: LOGIN and PASSWORD, long strings
//
// A response that does not decode is a syntax error (502 SYNTAX_ERROR, as
// RabbitMQ answers), not a refused login.
#pragma once

#include <string_view>

#include "amqp/auth.h"
#include "base/result.h"

namespace wharf::amqp {

// The mechanisms offered in connection.start, space separated.
inline constexpr std::string_view kSaslMechanisms = "PLAIN AMQPLAIN";

// Errc::kUnsupported for a mechanism other than PLAIN/AMQPLAIN,
// Errc::kInvalidArgument for a malformed response.
result<Credentials> decode_sasl_response(std::string_view mechanism, std::string_view response);

}  // namespace wharf::amqp
