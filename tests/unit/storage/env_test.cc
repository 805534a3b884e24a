#include "storage/env.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace wharf::storage {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(PosixEnv, FileBasics) {
  testing::TempDir dir;
  Env* env = Env::posix();
  ASSERT_TRUE(env->create_dir(dir.sub("a/b")).ok());
  auto f = env->open_append(dir.sub("a/b/x"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append(bytes("hello ")).ok());
  std::string w = "world";
  iovec iov[2] = {{w.data(), 3}, {w.data() + 3, 2}};
  ASSERT_TRUE((*f)->appendv(iov).ok());
  EXPECT_EQ(*(*f)->size(), 11u);
  uint8_t buf[32];
  auto n = (*f)->pread(6, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "world");
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->truncate(5).ok());
  EXPECT_EQ(*(*f)->size(), 5u);
  EXPECT_GE((*f)->fd(), 0);

  auto names = env->list_dir(dir.sub("a/b"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"x"});
  ASSERT_TRUE(env->rename(dir.sub("a/b/x"), dir.sub("a/b/y")).ok());
  EXPECT_FALSE(env->exists(dir.sub("a/b/x")));
  EXPECT_TRUE(env->exists(dir.sub("a/b/y")));
  EXPECT_TRUE(env->mtime_ms(dir.sub("a/b/y")).ok());
  ASSERT_TRUE(env->remove_file(dir.sub("a/b/y")).ok());
  EXPECT_EQ(env->remove_file(dir.sub("a/b/y")).code(), Errc::kIo);
  EXPECT_EQ(env->open_read(dir.sub("nope")).code(), Errc::kIo);
  ASSERT_TRUE(env->remove_dir_recursive(dir.sub("a")).ok());
  EXPECT_FALSE(env->exists(dir.sub("a")));
}

TEST(FaultInjectionEnv, FailsOnDemandAndDropsUnsynced) {
  testing::TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.open_append(dir.sub("f"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append(bytes("durable")).ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->append(bytes("-lost")).ok());
  env.set_fail_writes(true);
  EXPECT_EQ((*f)->append(bytes("x")).code(), Errc::kIo);
  env.set_fail_writes(false);
  env.set_fail_syncs(true);
  EXPECT_EQ((*f)->sync().code(), Errc::kIo);
  env.set_fail_syncs(false);
  EXPECT_EQ(*(*f)->size(), 12u);
  f->reset();
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  auto r = Env::posix()->open_read(dir.sub("f"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*(*r)->size(), 7u);
}

}  // namespace
}  // namespace wharf::storage
