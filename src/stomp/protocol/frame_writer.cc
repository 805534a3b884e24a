#include "stomp/protocol/frame_writer.h"

namespace wharf::stomp {

void append_escaped(std::string_view in, Version v, std::string& out) {
  if (v == Version::k1_0) {
    out.append(in);
    return;
  }
  // Most names and values need no escaping: copy runs of plain bytes whole.
  const bool cr_special = v == Version::k1_2;
  auto special = [cr_special](char c) { return c == '\n' || c == ':' || c == '\\' || (c == '\r' && cr_special); };
  size_t from = 0;
  while (from < in.size()) {
    size_t at = from;
    while (at < in.size() && !special(in[at])) ++at;
    if (at == in.size()) {
      out.append(in.substr(from));
      return;
    }
    out.append(in.substr(from, at - from));
    from = at + 1;
    switch (in[at]) {
      case '\n': out += "\\n"; break;
      case ':': out += "\\c"; break;
      case '\\': out += "\\\\"; break;
      case '\r': out += "\\r"; break;  // only a special in 1.2
    }
  }
}

status encode_frame(const Frame& frame, Version version, std::string& out) {
  const std::string_view cmd = frame.command;
  if (cmd.empty() || cmd.find_first_of("\r\n") != std::string_view::npos) {
    return make_error(Errc::kInvalidArgument, "stomp: bad command");
  }
  const bool handshake = is_handshake_command(cmd);
  const bool escaped = !handshake && version != Version::k1_0;
  const bool crlf = handshake || version == Version::k1_2;
  if (!escaped) {
    for (const auto& [n, v] : frame.headers) {
      if (n.find_first_of(":\n") != std::string::npos || v.find('\n') != std::string::npos) {
        return make_error(Errc::kInvalidArgument, "stomp: header '" + n + "' cannot be sent unescaped");
      }
    }
  }
  if (crlf && !escaped) {
    for (const auto& [n, v] : frame.headers) {
      if (!v.empty() && v.back() == '\r') {
        return make_error(Errc::kInvalidArgument, "stomp: header '" + n + "' ends in CR");
      }
    }
  }
  out.append(cmd);
  out.push_back('\n');
  for (const auto& [n, v] : frame.headers) {
    if (n == "content-length") continue;
    if (escaped) {
      append_escaped(n, version, out);
      out.push_back(':');
      append_escaped(v, version, out);
    } else {
      out.append(n);
      out.push_back(':');
      out.append(v);
    }
    out.push_back('\n');
  }
  if (!frame.body.empty()) {
    out.append("content-length:");
    out.append(std::to_string(frame.body.size()));
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(frame.body);
  out.push_back('\0');
  return {};
}

}  // namespace wharf::stomp
