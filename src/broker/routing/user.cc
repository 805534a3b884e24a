#include "broker/routing/user.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>

namespace wharf::broker::routing {

namespace {

constexpr size_t kSaltBytes = 4;  // RabbitMQ's salt length
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr size_t kDigestBytes = 32;  // SHA-256

std::string sha256(std::string_view a, std::string_view b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 && EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != kDigestBytes) std::abort();  // libcrypto without SHA-256: unusable, crash loudly
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto u = [&](size_t k) { return uint32_t(uint8_t(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = u(i) << 16 | u(i + 1) << 8 | u(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  size_t rest = in.size() - i;
  if (rest) {
    uint32_t v = u(i) << 16 | (rest == 2 ? u(i + 1) << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

}  // namespace

std::string_view perm_name(Perm p) {
  switch (p) {
    case Perm::kConfigure: return "configure";
    case Perm::kWrite: return "write";
    case Perm::kRead: return "read";
  }
  return "?";
}

bool User::has_tag(std::string_view t) const { return std::find(tags.begin(), tags.end(), t) != tags.end(); }

std::string base64_encode(std::string_view bytes) { return encode(bytes, kB64, true); }

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return encode(bytes, kUrl, false);
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), int(n)) != 1) {
    // OpenSSL's CSPRNG failing means the process cannot hand out safe salts
    // or names: a loud crash, not a weak fallback.
    std::abort();
  }
  return s;
}

std::string hash_password(std::string_view password) {
  std::string salt = random_bytes(kSaltBytes);
  return base64_encode(salt + sha256(salt, password));
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (password.empty() || hash.empty()) return false;
  auto raw = base64_decode(hash);
  if (!raw || raw->size() != kSaltBytes + kDigestBytes) return false;
  std::string_view salt(raw->data(), kSaltBytes);
  std::string want = sha256(salt, password);
  return CRYPTO_memcmp(want.data(), raw->data() + kSaltBytes, want.size()) == 0;
}

result<Permission> Permission::compile(std::string configure, std::string write, std::string read) {
  Permission p;
  p.src_ = {std::move(configure), std::move(write), std::move(read)};
  for (size_t i = 0; i < 3; ++i) {
    if (p.src_[i].empty()) continue;
    try {
      // Admin input at configuration time; std::regex reports errors only by
      // throwing, so the exception stops here and becomes a value.
      p.re_[i].emplace(p.src_[i], std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return make_error(Errc::kInvalidArgument, "invalid " + std::string(perm_name(Perm(i))) +
                                                    " permission expression '" + p.src_[i] + "': " + e.what());
    }
  }
  return p;
}

bool Permission::allows(Perm perm, std::string_view resource) const {
  const auto& re = re_[size_t(perm)];
  if (!re) return false;
  return std::regex_search(resource.begin(), resource.end(), *re);
}

}  // namespace wharf::broker::routing
