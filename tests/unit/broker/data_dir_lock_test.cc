// The data dir lock: one owner at a time, released with its holder.
#include "broker/data_dir_lock.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace wharf::broker {
namespace {

std::string fresh_dir() {
  auto d = std::filesystem::temp_directory_path() /
           ("wharf-lock-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(d);
  return (d / "data").string();  // does not exist yet
}

TEST(DataDirLock, CreatesTheDirAndRefusesASecondOwner) {
  const std::string dir = fresh_dir();
  auto first = DataDirLock::acquire(dir);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->held());
  EXPECT_TRUE(std::filesystem::exists(dir + "/.lock"));

  // flock belongs to the open file, so a second acquire in this very process
  // is refused just as another process would be.
  auto second = DataDirLock::acquire(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.code(), Errc::kAlreadyExists);
  EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos);

  // Moving keeps it held; destroying the holder frees it.
  DataDirLock moved = std::move(*first);
  EXPECT_TRUE(moved.held());
  EXPECT_FALSE(DataDirLock::acquire(dir).ok());
  moved = DataDirLock();
  EXPECT_TRUE(DataDirLock::acquire(dir).ok());
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

}  // namespace
}  // namespace wharf::broker
