#include "broker/queue/message_codec.h"

#include <bit>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "base/endian.h"
#include "storage/record_batch.h"

namespace wharf::broker::queue {

namespace rh = record_header;
namespace tag = value_tag;

namespace {

// ---- Kafka varints (zigzag) ----

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }

void put_varint(std::string& out, int64_t v) {
  uint64_t u = zigzag(v);
  while (u >= 0x80) {
    out.push_back(char(uint8_t(u) | 0x80));
    u >>= 7;
  }
  out.push_back(char(u));
}

size_t varint_size(int64_t v) {
  uint64_t u = zigzag(v);
  size_t n = 1;
  while (u >= 0x80) { u >>= 7; ++n; }
  return n;
}

void put_bytes_field(std::string& out, std::string_view s) {
  put_varint(out, int64_t(s.size()));
  out.append(s);
}

// Bounds-checked cursor over a record; any overrun clears ok.
struct In {
  std::span<const uint8_t> b;
  size_t pos = 0;
  bool ok = true;

  int64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= b.size()) { ok = false; return 0; }
      uint8_t c = b[pos++];
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return int64_t(v >> 1) ^ -int64_t(v & 1);
    }
    ok = false;
    return 0;
  }
  // A varint length then that many bytes; len -1 means null.
  std::span<const uint8_t> bytes(bool* is_null) {
    int64_t len = varint();
    *is_null = false;
    if (!ok) return {};
    if (len < 0) {
      if (len != -1) ok = false;
      *is_null = true;
      return {};
    }
    if (uint64_t(len) > b.size() - pos) { ok = false; return {}; }
    auto s = b.subspan(pos, size_t(len));
    pos += size_t(len);
    return s;
  }
  uint8_t u8() {
    if (pos >= b.size()) { ok = false; return 0; }
    return b[pos++];
  }
  uint32_t u32() {
    if (b.size() - pos < 4) { ok = false; pos = b.size(); return 0; }
    uint32_t v = load_be32(b.data() + pos);
    pos += 4;
    return v;
  }
  uint64_t u64() {
    if (b.size() - pos < 8) { ok = false; pos = b.size(); return 0; }
    uint64_t v = load_be64(b.data() + pos);
    pos += 8;
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    if (b.size() - pos < n) { ok = false; pos = b.size(); return {}; }
    auto s = b.subspan(pos, n);
    pos += n;
    return s;
  }
};

std::string_view as_sv(std::span<const uint8_t> s) { return {reinterpret_cast<const char*>(s.data()), s.size()}; }

// ---- binary value encoding ----

void put_u32(std::string& out, uint32_t v) { uint8_t b[4]; store_be32(b, v); out.append(reinterpret_cast<char*>(b), 4); }
void put_u64(std::string& out, uint64_t v) { uint8_t b[8]; store_be64(b, v); out.append(reinterpret_cast<char*>(b), 8); }

struct ValueWriter {
  std::string& out;
  void operator()(const Null&) { out.push_back(tag::kNull); }
  void operator()(bool b) { out.push_back(tag::kBool); out.push_back(b ? 1 : 0); }
  void operator()(int64_t i) { out.push_back(tag::kInt); put_u64(out, uint64_t(i)); }
  void operator()(double d) { out.push_back(tag::kDouble); put_u64(out, std::bit_cast<uint64_t>(d)); }
  void operator()(const Timestamp& t) { out.push_back(tag::kTimestamp); put_u64(out, uint64_t(t.seconds)); }
  void operator()(const Decimal& d) { out.push_back(tag::kDecimal); out.push_back(char(d.scale)); put_u32(out, uint32_t(d.value)); }
  void operator()(const std::string& s) { out.push_back(tag::kString); put_u32(out, uint32_t(s.size())); out += s; }
  void operator()(const Bytes& b) { out.push_back(tag::kBytes); put_u32(out, uint32_t(b.data.size())); out += b.data; }
  void operator()(const List& l) {
    out.push_back(tag::kList);
    put_u32(out, uint32_t(l.items.size()));
    for (const auto& v : l.items) std::visit(*this, v.v);
  }
  void operator()(const Table& t) {
    out.push_back(tag::kTable);
    put_u32(out, uint32_t(t.fields.size()));
    for (const auto& f : t.fields) {
      put_u32(out, uint32_t(f.name.size()));
      out += f.name;
      std::visit(*this, f.value.v);
    }
  }
};

bool read_value(In& in, int depth, Value& out) {
  if (depth > tag::kMaxDepth) return false;
  char t = char(in.u8());
  if (!in.ok) return false;
  switch (t) {
    case tag::kNull: out = Value(); return true;
    case tag::kBool: out = Value(in.u8() != 0); return in.ok;
    case tag::kInt: out = Value(int64_t(in.u64())); return in.ok;
    case tag::kDouble: out = Value(std::bit_cast<double>(in.u64())); return in.ok;
    case tag::kTimestamp: out = Value(Timestamp{int64_t(in.u64())}); return in.ok;
    case tag::kDecimal: {
      uint8_t scale = in.u8();
      out = Value(Decimal{scale, int32_t(in.u32())});
      return in.ok;
    }
    case tag::kString:
    case tag::kBytes: {
      uint32_t n = in.u32();
      auto s = in.take(n);
      if (!in.ok) return false;
      if (t == tag::kString) out = Value(std::string(as_sv(s)));
      else out = Value(Bytes{std::string(as_sv(s))});
      return true;
    }
    case tag::kList: {
      uint32_t n = in.u32();
      // Every element takes at least one byte: a count past the rest is garbage.
      if (!in.ok || n > in.b.size() - in.pos) return false;
      List l;
      l.items.resize(n);
      for (auto& item : l.items)
        if (!read_value(in, depth + 1, item)) return false;
      out = Value(std::move(l));
      return true;
    }
    case tag::kTable: {
      uint32_t n = in.u32();
      if (!in.ok || n > in.b.size() - in.pos) return false;
      Table tb;
      tb.fields.resize(n);
      for (auto& f : tb.fields) {
        uint32_t len = in.u32();
        auto name = in.take(len);
        if (!in.ok) return false;
        f.name = std::string(as_sv(name));
        if (!read_value(in, depth + 1, f.value)) return false;
      }
      out = Value(std::move(tb));
      return true;
    }
    default: return false;
  }
}

// ---- application header values ----

char type_letter(const Value& v) {
  struct V {
    char operator()(const Null&) { return tag::kNull; }
    char operator()(bool) { return tag::kBool; }
    char operator()(int64_t) { return tag::kInt; }
    char operator()(double) { return tag::kDouble; }
    char operator()(const Timestamp&) { return tag::kTimestamp; }
    char operator()(const Decimal&) { return tag::kDecimal; }
    char operator()(const std::string&) { return tag::kString; }
    char operator()(const Bytes&) { return tag::kBytes; }
    char operator()(const List&) { return tag::kList; }
    char operator()(const Table&) { return tag::kTable; }
  };
  return std::visit(V{}, v.v);
}

template <class T>
std::string decimal(T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// The record header value of an application header; false for null.
bool header_text(const Value& v, std::string& out) {
  out.clear();
  if (auto s = v.get_if<std::string>()) { out = *s; return true; }
  if (auto b = v.get_if<Bytes>()) { out = b->data; return true; }
  if (auto i = v.get_if<int64_t>()) { out = decimal(*i); return true; }
  if (auto d = v.get_if<double>()) { out = decimal(*d); return true; }
  if (auto b = v.get_if<bool>()) { out = *b ? "true" : "false"; return true; }
  if (auto t = v.get_if<Timestamp>()) { out = decimal(t->seconds); return true; }
  if (auto d = v.get_if<Decimal>()) { out = decimal_text(*d); return true; }
  if (v.is<Null>()) return false;
  encode_value(v, out);
  return true;
}

template <class T>
bool parse_decimal(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_header_value(char type, std::span<const uint8_t> raw, bool is_null, Value& out) {
  std::string_view s = as_sv(raw);
  if (type == tag::kNull) { out = Value(); return is_null; }
  if (is_null) return false;
  switch (type) {
    case tag::kString: out = Value(std::string(s)); return true;
    case tag::kBytes: out = Value(Bytes{std::string(s)}); return true;
    case tag::kInt: { int64_t i; if (!parse_decimal(s, i)) return false; out = Value(i); return true; }
    case tag::kDouble: { double d; if (!parse_decimal(s, d)) return false; out = Value(d); return true; }
    case tag::kTimestamp: { int64_t i; if (!parse_decimal(s, i)) return false; out = Value(Timestamp{i}); return true; }
    case tag::kDecimal: { auto d = parse_decimal_text(s); if (!d) return false; out = Value(*d); return true; }
    case tag::kBool:
      if (s == "true") { out = Value(true); return true; }
      if (s == "false") { out = Value(false); return true; }
      return false;
    case tag::kList:
    case tag::kTable: {
      auto v = decode_value(raw);
      if (!v.ok() || type_letter(*v) != type) return false;
      out = std::move(*v);
      return true;
    }
    default: return false;
  }
}

void put_header(std::string& out, std::string_view name, std::string_view value) {
  put_bytes_field(out, name);
  put_bytes_field(out, value);
}

Error corrupt(std::string what) { return make_error(Errc::kCorrupt, "queue record: " + std::move(what)); }

}  // namespace

void encode_value(const Value& v, std::string& out) { std::visit(ValueWriter{out}, v.v); }

result<Value> decode_value(std::span<const uint8_t> bytes) {
  In in{bytes};
  Value v;
  if (!read_value(in, 0, v) || in.pos != bytes.size()) return corrupt("malformed value encoding");
  return v;
}

void BatchEncoder::encode(const Message& m, int64_t ts, std::vector<uint8_t>& out) {
  using namespace storage::batch_layout;
  // Headers first: their size is part of the record length.
  std::string& h = headers_;
  h.clear();
  int64_t count = 0;
  std::string scratch;  // small; only for non-text values
  auto prop = [&](std::string_view name, const std::optional<std::string>& v) {
    if (v) { put_header(h, name, *v); ++count; }
  };
  if (!m.exchange.empty()) { put_header(h, rh::kExchange, m.exchange); ++count; }
  const Properties& p = m.props;
  prop(rh::kContentType, p.content_type);
  prop(rh::kContentEncoding, p.content_encoding);
  if (p.delivery_mode) { put_header(h, rh::kDeliveryMode, decimal(int(*p.delivery_mode))); ++count; }
  if (p.priority) { put_header(h, rh::kPriority, decimal(int(*p.priority))); ++count; }
  prop(rh::kCorrelationId, p.correlation_id);
  prop(rh::kReplyTo, p.reply_to);
  if (p.expiration_ms) { put_header(h, rh::kExpiration, decimal(*p.expiration_ms)); ++count; }
  prop(rh::kMessageId, p.message_id);
  if (p.timestamp) { put_header(h, rh::kTimestamp, decimal(*p.timestamp)); ++count; }
  prop(rh::kType, p.type);
  prop(rh::kUserId, p.user_id);
  prop(rh::kAppId, p.app_id);
  if (!m.deaths.empty()) {
    scratch.clear();
    encode_value(deaths_to_value(m.deaths), scratch);
    put_header(h, rh::kDeath, scratch);
    ++count;
  }
  bool typed = false;
  for (const auto& f : m.headers.fields)
    if (!f.value.is<std::string>()) typed = true;
  if (typed) {
    std::string types;
    for (const auto& f : m.headers.fields) types.push_back(type_letter(f.value));
    put_header(h, rh::kTypes, types);
    ++count;
  }
  for (const auto& f : m.headers.fields) {
    if (f.name.starts_with(rh::kPrefix)) {
      put_varint(h, int64_t(rh::kEscapedPrefix.size() + f.name.size()));
      h.append(rh::kEscapedPrefix);
      h.append(f.name);
    } else {
      put_bytes_field(h, f.name);
    }
    if (header_text(f.value, scratch)) put_bytes_field(h, scratch);
    else put_varint(h, -1);
    ++count;
  }

  // Record fields before the value: attributes, timestampDelta, offsetDelta, key.
  std::string& pre = prefix_;
  pre.clear();
  pre.push_back(0);
  put_varint(pre, 0);
  put_varint(pre, 0);
  if (m.routing_key.empty()) put_varint(pre, -1);
  else put_bytes_field(pre, m.routing_key);
  put_varint(pre, int64_t(m.body.size()));

  size_t count_size = varint_size(count);
  int64_t record_len = int64_t(pre.size() + m.body.size() + count_size + h.size());
  size_t total = kHeaderSize + varint_size(record_len) + size_t(record_len);

  out.resize(total);
  uint8_t* b = out.data();
  store_be64(b + kBaseOffset, 0);
  store_be32(b + kBatchLength, uint32_t(total - kLogOverhead));
  store_be32(b + kLeaderEpoch, 0);
  b[kMagic] = uint8_t(kMagicV2);
  store_be16(b + kAttributes, 0);
  store_be32(b + kLastOffsetDelta, 0);
  store_be64(b + kBaseTimestamp, uint64_t(ts));
  store_be64(b + kMaxTimestamp, uint64_t(ts));
  store_be64(b + kProducerId, uint64_t(int64_t(-1)));
  store_be16(b + kProducerEpoch, uint16_t(int16_t(-1)));
  store_be32(b + kBaseSequence, uint32_t(int32_t(-1)));
  store_be32(b + kRecordsCount, 1);
  size_t pos = kHeaderSize;
  auto put = [&](const void* src, size_t n) {
    if (n) std::memcpy(b + pos, src, n);
    pos += n;
  };
  std::string len;
  put_varint(len, record_len);
  put(len.data(), len.size());
  put(pre.data(), pre.size());
  put(m.body.bytes().data(), m.body.size());
  len.clear();
  put_varint(len, count);
  put(len.data(), len.size());
  put(h.data(), h.size());
  storage::update_batch_crc(out);
}

status parse_records(std::span<const uint8_t> batch, std::vector<RecordRef>& out) {
  auto hr = storage::parse_batch_header(batch);
  if (!hr.ok()) return hr.error();
  const auto& h = *hr;
  if (h.is_control()) return {};
  if (h.compression() != 0) {
    return make_error(Errc::kUnsupported, fmt::format("compressed batch at offset {} in a queue", h.base_offset));
  }
  size_t end = std::min(batch.size(), h.total_size());
  In in{batch.subspan(0, end), storage::batch_layout::kHeaderSize};
  for (int32_t i = 0; i < h.records_count; ++i) {
    int64_t len = in.varint();
    if (!in.ok || len < 0 || uint64_t(len) > end - in.pos) return corrupt(fmt::format("record {} length", i));
    In r{batch.subspan(in.pos, size_t(len))};
    in.pos += size_t(len);
    RecordRef ref;
    r.u8();  // attributes: unused in v2
    ref.timestamp_ms = h.base_timestamp + r.varint();
    ref.offset = h.base_offset + r.varint();
    ref.key = r.bytes(&ref.key_null);
    bool value_null = false;
    ref.value = r.bytes(&value_null);
    ref.header_count = r.varint();
    if (!r.ok || ref.header_count < 0) return corrupt(fmt::format("record {} fields", i));
    ref.headers = r.b.subspan(r.pos);
    out.push_back(ref);
  }
  return {};
}

result<Message> decode_record(const RecordRef& r, const std::shared_ptr<const void>& owner) {
  Message m;
  m.routing_key = std::string(as_sv(r.key));
  m.body = Body(owner, r.value);
  In in{r.headers};
  std::string_view types;
  bool have_types = false;
  size_t app_index = 0;
  Properties& p = m.props;
  auto bad = [&](std::string_view name) { return corrupt(fmt::format("bad header {}", name)); };
  for (int64_t i = 0; i < r.header_count; ++i) {
    bool name_null = false, value_null = false;
    auto name_b = in.bytes(&name_null);
    auto value_b = in.bytes(&value_null);
    if (!in.ok || name_null) return corrupt(fmt::format("header {} of {}", i, r.header_count));
    std::string_view name = as_sv(name_b), value = as_sv(value_b);
    if (name.starts_with(rh::kPrefix) && !name.starts_with(rh::kEscapedPrefix)) {
      auto text = [&](std::optional<std::string>& field) { field = std::string(value); };
      if (name == rh::kExchange) m.exchange = std::string(value);
      else if (name == rh::kContentType) text(p.content_type);
      else if (name == rh::kContentEncoding) text(p.content_encoding);
      else if (name == rh::kCorrelationId) text(p.correlation_id);
      else if (name == rh::kReplyTo) text(p.reply_to);
      else if (name == rh::kMessageId) text(p.message_id);
      else if (name == rh::kType) text(p.type);
      else if (name == rh::kUserId) text(p.user_id);
      else if (name == rh::kAppId) text(p.app_id);
      else if (name == rh::kDeliveryMode || name == rh::kPriority) {
        unsigned v = 0;
        if (!parse_decimal(value, v) || v > 255) return bad(name);
        (name == rh::kDeliveryMode ? p.delivery_mode : p.priority) = uint8_t(v);
      } else if (name == rh::kExpiration || name == rh::kTimestamp) {
        int64_t v = 0;
        if (!parse_decimal(value, v)) return bad(name);
        (name == rh::kExpiration ? p.expiration_ms : p.timestamp) = v;
      } else if (name == rh::kDeath) {
        auto v = decode_value(value_b);
        if (!v.ok()) return bad(name);
        m.deaths = deaths_from_value(*v);
      } else if (name == rh::kTypes) {
        types = value;
        have_types = true;
      }
      continue;  // unknown wharf.* names: written by a newer version; ignored
    }
    if (name.starts_with(rh::kEscapedPrefix)) name.remove_prefix(rh::kEscapedPrefix.size());
    char type = tag::kString;
    if (have_types) {
      if (app_index >= types.size()) return corrupt("wharf.types shorter than the headers");
      type = types[app_index];
    }
    ++app_index;
    Value v;
    if (type == tag::kString && value_null) v = Value();  // a Kafka producer's null header
    else if (!parse_header_value(type, value_b, value_null, v)) return bad(name);
    m.headers.fields.push_back(Field{std::string(name), std::move(v)});
  }
  if (have_types && app_index != types.size()) return corrupt("wharf.types longer than the headers");
  return m;
}

}  // namespace wharf::broker::queue
