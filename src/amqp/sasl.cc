#include "amqp/sasl.h"

#include <vector>

#include "amqp/protocol/reader.h"
#include "base/endian.h"

namespace wharf::amqp {

namespace {

result<Credentials> decode_plain(std::string_view r) {
  // authzid NUL authcid NUL passwd; authzid may be empty.
  const auto first = r.find('\0');
  if (first == std::string_view::npos) return make_error(Errc::kInvalidArgument, "PLAIN response has no NUL separator");
  const auto second = r.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return make_error(Errc::kInvalidArgument, "PLAIN response has one NUL separator, expected two");
  }
  if (r.find('\0', second + 1) != std::string_view::npos) {
    return make_error(Errc::kInvalidArgument, "PLAIN response has more than two NUL separators");
  }
  return Credentials{"PLAIN", std::string(r.substr(first + 1, second - first - 1)), std::string(r.substr(second + 1))};
}

result<Credentials> decode_amqplain(std::string_view r) {
  // The entries come without the table's size; put it back and read a table.
  std::vector<uint8_t> buf(4 + r.size());
  store_be32(buf.data(), uint32_t(r.size()));
  std::copy(r.begin(), r.end(), buf.begin() + 4);
  Reader reader{std::span<const uint8_t>(buf)};
  const FieldTable t = reader.read_table();
  if (!reader.ok() || !reader.at_end()) {
    return make_error(Errc::kInvalidArgument, std::string("AMQPLAIN response is not a field table: ") +
                                                  (reader.ok() ? "trailing bytes" : reader.error()));
  }
  const FieldValue* login = t.find("LOGIN");
  const FieldValue* password = t.find("PASSWORD");
  if (!login || !password || !login->is<std::string>() || !password->is<std::string>()) {
    return make_error(Errc::kInvalidArgument, "AMQPLAIN response needs LOGIN and PASSWORD strings");
  }
  return Credentials{"AMQPLAIN", *login->get_if<std::string>(), *password->get_if<std::string>()};
}

}  // namespace

result<Credentials> decode_sasl_response(std::string_view mechanism, std::string_view response) {
  if (mechanism == "PLAIN") return decode_plain(response);
  if (mechanism == "AMQPLAIN") return decode_amqplain(response);
  return make_error(Errc::kUnsupported, "unknown authentication mechanism '" + std::string(mechanism) + "'");
}

}  // namespace wharf::amqp
