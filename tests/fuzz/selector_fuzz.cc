// libFuzzer target for JMS selectors: the lexer, the parser and evaluation.
//
// Input: selector text. Whatever parses is evaluated against a fixed set of
// fields of every selector type.
//
// Checks: nothing crashes, overflows the stack or hits undefined behaviour
// (ASan/UBSan: deep nesting, integer overflow in literals and arithmetic,
// stray UTF-8); a rejected selector names an offset inside the text or at
// its end; evaluation is deterministic, and NOT (s) never matches together
// with (s) (three-valued logic can make both false, never both true).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/selector/selector.h"

using namespace wharf;
using namespace wharf::broker;

namespace {

// A fixed set of fields, one or more of each selector type. (Not a
// queue::Message: value.h does not build with clang 14 + libstdc++ 12, so the
// message mapping, message_fields.cc, is covered by the unit tests instead.)
class FixedFields : public selector::Fields {
 public:
  selector::Operand get(std::string_view name) const override {
    if (name == "s") return std::string_view("hello");
    if (name == "color") return std::string_view("red");
    if (name == "uni") return std::string_view("\xC3\xA9t\xC3\xA9\xFF");
    if (name == "i") return int64_t(10);
    if (name == "big") return int64_t(INT64_MAX);
    if (name == "neg") return int64_t(INT64_MIN);
    if (name == "d") return 2.5;
    if (name == "inf") return 1e308 * 10;
    if (name == "t") return true;
    if (name == "JMSPriority") return int64_t(7);
    return std::monostate{};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FixedFields msg;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = selector::parse(text);
  if (!s.ok()) {
    // "selector: offset N: ..." with N <= size.
    const std::string& m = s.error().message;
    constexpr std::string_view kPrefix = "selector: offset ";
    if (m.compare(0, kPrefix.size(), kPrefix) != 0) abort();
    const unsigned long off = std::strtoul(m.c_str() + kPrefix.size(), nullptr, 10);
    if (off > size) abort();
    return 0;
  }
  const bool a = selector::evaluate(*s, msg);
  if (selector::evaluate(*s, msg) != a) abort();
  // Wrapping in NOT ( ) stays within the depth bound only if the original
  // was not already at it, so a rejection here is fine.
  auto n = selector::parse("NOT (" + std::string(text) + ")");
  if (n.ok() && a && selector::evaluate(*n, msg)) abort();
  return 0;
}
