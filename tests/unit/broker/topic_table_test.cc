#include "broker/topic_table.h"

#include <gtest/gtest.h>

#include "../storage/test_util.h"

namespace wharf::broker {

using storage::testing::TempDir;

TEST(TopicTable, ValidNames) {
  EXPECT_TRUE(valid_topic_name("orders.v1_EU-2"));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name("."));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("a/b"));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'a')));
}

TEST(TopicTable, CreatePersistsAndReloads) {
  TempDir d;
  storage::LogConfig defaults;
  {
    TopicTable t(d.path(), defaults, 1000);
    ASSERT_TRUE(t.load().ok());
    auto r = t.create("orders", 4, {{"retention.ms", "1234"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->log.retention_ms, 1234);
    EXPECT_EQ(t.create("orders", 1, {}).code(), Errc::kAlreadyExists);
    ASSERT_TRUE(t.set_partitions("orders", 6).ok());
    EXPECT_EQ(t.set_partitions("orders", 3).code(), Errc::kInvalidArgument);
  }
  TopicTable t(d.path(), defaults, 1000);
  ASSERT_TRUE(t.load().ok());
  auto o = t.find("orders");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->partitions, 6);
  EXPECT_EQ(o->log.retention_ms, 1234);
  ASSERT_TRUE(t.remove("orders").ok());
  TopicTable t2(d.path(), defaults, 1000);
  ASSERT_TRUE(t2.load().ok());
  EXPECT_EQ(t2.find("orders"), nullptr);
}

TEST(TopicTable, RejectsBadConfigs) {
  TempDir d;
  TopicTable t(d.path(), storage::LogConfig{}, 1000);
  ASSERT_TRUE(t.load().ok());
  EXPECT_EQ(t.create("x", 1, {{"retention.ms", "soon"}}).code(), Errc::kInvalidArgument);
  EXPECT_EQ(t.create("x", 1, {{"no.such.key", "1"}}).code(), Errc::kInvalidArgument);
  EXPECT_EQ(t.create("x", 0, {}).code(), Errc::kInvalidArgument);
  EXPECT_EQ(t.find("x"), nullptr);
}

}  // namespace wharf::broker
