#include "base/out_buffer.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <memory>

namespace wharf {

TEST(OutBuffer, PatchAndFlatten) {
  OutBuffer b;
  b.append_be32(0);
  b.append("abc", 3);
  b.patch_be32(0, 3);
  auto bytes = b.to_bytes();
  ASSERT_EQ(bytes.size(), 7u);
  EXPECT_EQ(bytes[3], 3);
  EXPECT_EQ(bytes[4], 'a');
}

TEST(OutBuffer, FileSlicesKeepOrder) {
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fwrite("0123456789", 1, 10, f), 10u);
  fflush(f);
  OutBuffer b;
  b.append("<", 1);
  b.append_file(FileSlice{nullptr, fileno(f), 2, 3});
  b.append(">", 1);
  EXPECT_EQ(b.size(), 5u);
  auto bytes = b.to_bytes();
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "<234>");
  fclose(f);
}

}  // namespace wharf
