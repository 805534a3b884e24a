#include "broker/group/group_metadata.h"

#include "broker/group/record_io.h"

namespace wharf::broker::group {

namespace f = group_metadata_format;
using record_io::put_u32;
using record_io::Reader;

namespace {

void put_bytes(std::string& s, std::string_view b) {
  put_u32(s, uint32_t(b.size()));
  s.append(b);
}

void put_optional(std::string& s, const std::optional<std::string>& b) {
  if (!b) {
    put_u32(s, uint32_t(-1));
    return;
  }
  put_bytes(s, *b);
}

std::string get_bytes(Reader& r) { return r.str(r.u32()); }

std::optional<std::string> get_optional(Reader& r) {
  int32_t n = int32_t(r.u32());
  if (n == -1) return std::nullopt;
  if (n < 0) r.ok = false;
  return r.str(size_t(n < 0 ? 0 : n));
}

}  // namespace

size_t encoded_group_metadata_size(const GroupMetadata& md) {
  size_t size = f::kGroupFixedSize + md.protocol_type.size() +
                (md.protocol_name ? md.protocol_name->size() : 0) + md.leader.size();
  for (auto& m : md.members) {
    size += f::kMemberFixedSize + m.id.size() + (m.instance_id ? m.instance_id->size() : 0) +
            m.client_id.size() + m.client_host.size() + m.assignment.size();
    for (auto& p : m.protocols) size += f::kProtocolFixedSize + p.name.size() + p.metadata.size();
  }
  return size;
}

std::string encode_group_metadata(const GroupMetadata& md) {
  std::string s;
  s.reserve(encoded_group_metadata_size(md));
  put_bytes(s, md.protocol_type);
  put_u32(s, uint32_t(md.generation));
  put_optional(s, md.protocol_name);
  put_bytes(s, md.leader);
  put_u32(s, uint32_t(md.members.size()));
  for (auto& m : md.members) {
    put_bytes(s, m.id);
    put_optional(s, m.instance_id);
    put_bytes(s, m.client_id);
    put_bytes(s, m.client_host);
    put_u32(s, uint32_t(m.session_timeout_ms));
    put_u32(s, uint32_t(m.rebalance_timeout_ms));
    put_u32(s, uint32_t(m.protocols.size()));
    for (auto& p : m.protocols) {
      put_bytes(s, p.name);
      put_bytes(s, p.metadata);
    }
    put_bytes(s, m.assignment);
  }
  return s;
}

result<GroupMetadata> decode_group_metadata(std::string_view value) {
  Reader r{reinterpret_cast<const uint8_t*>(value.data()), value.size()};
  GroupMetadata md;
  md.protocol_type = get_bytes(r);
  md.generation = int32_t(r.u32());
  md.protocol_name = get_optional(r);
  md.leader = get_bytes(r);
  uint32_t members = r.u32();
  // Counts are checked against the bytes left before anything is reserved,
  // so a damaged count cannot make us allocate gigabytes.
  if (!r.ok || members > r.left / f::kMemberFixedSize) {
    return make_error(Errc::kCorrupt, "group metadata: bad member count");
  }
  md.members.reserve(members);
  for (uint32_t i = 0; i < members && r.ok; ++i) {
    StoredMember m;
    m.id = get_bytes(r);
    m.instance_id = get_optional(r);
    m.client_id = get_bytes(r);
    m.client_host = get_bytes(r);
    m.session_timeout_ms = int32_t(r.u32());
    m.rebalance_timeout_ms = int32_t(r.u32());
    uint32_t protocols = r.u32();
    if (!r.ok || protocols > r.left / f::kProtocolFixedSize) {
      return make_error(Errc::kCorrupt, "group metadata: bad protocol count");
    }
    m.protocols.reserve(protocols);
    for (uint32_t j = 0; j < protocols && r.ok; ++j) {
      Protocol p;
      p.name = get_bytes(r);
      p.metadata = get_bytes(r);
      m.protocols.push_back(std::move(p));
    }
    m.assignment = get_bytes(r);
    md.members.push_back(std::move(m));
  }
  if (!r.ok || r.left != 0) return make_error(Errc::kCorrupt, "group metadata: malformed value");
  return md;
}

}  // namespace wharf::broker::group
