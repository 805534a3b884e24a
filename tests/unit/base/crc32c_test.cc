#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace wharf {

TEST(Crc32c, KnownVector) {
  std::string s = "123456789";
  EXPECT_EQ(crc32c(s.data(), s.size()), 0xE3069283u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string a = "hello ", b = "world";
  std::string ab = a + b;
  EXPECT_EQ(crc32c_extend(crc32c(a.data(), a.size()), b.data(), b.size()), crc32c(ab.data(), ab.size()));
}

TEST(Crc32c, EmptyIsZero) { EXPECT_EQ(crc32c("", 0), 0u); }

}  // namespace wharf
