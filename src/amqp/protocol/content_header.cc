#include "amqp/protocol/content_header.h"

#include <string>

#include "amqp/protocol/reader.h"

namespace wharf::amqp {

result<ContentHeader> decode_content_header(std::span<const uint8_t> payload) {
  Reader r(payload);
  ContentHeader h;
  h.class_id = r.read_short();
  (void)r.read_short();  // weight
  h.body_size = r.read_longlong();
  if (!r.ok()) return make_error(Errc::kInvalidArgument, "content header: truncated");
  if (h.class_id != msg::BasicProperties::kClassId) {
    return make_error(Errc::kInvalidArgument,
                      "content header for class " + std::to_string(h.class_id) + ", which has no content");
  }
  if (!h.properties.decode(r)) return make_error(Errc::kInvalidArgument, std::string("content header: ") + r.error());
  if (!r.at_end()) {
    return make_error(Errc::kInvalidArgument,
                      "content header: " + std::to_string(r.remaining()) + " bytes after the properties");
  }
  return h;
}

void encode_content_header(const ContentHeader& h, Writer& w) {
  w.write_short(h.class_id);
  w.write_short(0);
  w.write_longlong(h.body_size);
  h.properties.encode(w);
}

void encode_content_header(uint64_t body_size, const msg::BasicProperties& props, Writer& w) {
  w.write_short(msg::BasicProperties::kClassId);
  w.write_short(0);
  w.write_longlong(body_size);
  props.encode(w);
}

}  // namespace wharf::amqp
