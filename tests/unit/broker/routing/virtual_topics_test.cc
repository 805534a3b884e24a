// ActiveMQ's virtual topics on the registry (broker/virtual_topics.h).
#include "broker/virtual_topics.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "routing_test_util.h"

namespace wharf::broker {
namespace {

using routing::testing::memory_registry;

TEST(VirtualTopics, Names) {
  EXPECT_EQ(virtual_topic_of("Consumer.A.VirtualTopic.Orders"), "VirtualTopic.Orders");
  EXPECT_EQ(virtual_topic_of("Consumer.billing.VirtualTopic.a.b"), "VirtualTopic.a.b");
  EXPECT_EQ(virtual_topic_of("Consumer.A.Orders"), "");
  EXPECT_EQ(virtual_topic_of("Consumer..VirtualTopic.Orders"), "");
  EXPECT_EQ(virtual_topic_of("Consumer.A.VirtualTopic."), "");
  EXPECT_EQ(virtual_topic_of("orders"), "");
}
TEST(VirtualTopics, GroupQueuesGetTheirCopy) {
  auto r = memory_registry();
  routing::testing::declare_queues(*r, {"Consumer.A.VirtualTopic.Orders", "Consumer.B.VirtualTopic.Orders", "plain"});
  for (auto q : {"Consumer.A.VirtualTopic.Orders", "Consumer.B.VirtualTopic.Orders", "plain"})
    ASSERT_TRUE(bind_virtual_topic(*r, "/", q).ok()) << q;
  routing::RouteResult out;
  ASSERT_TRUE(r->route("/", "amq.topic", "VirtualTopic.Orders", nullptr, &out).ok());
  std::vector<std::string> names;
  for (const auto& d : out.destinations()) names.push_back(d.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"Consumer.A.VirtualTopic.Orders", "Consumer.B.VirtualTopic.Orders"}));
  // Binding again is harmless; another topic reaches nobody.
  EXPECT_TRUE(bind_virtual_topic(*r, "/", "Consumer.A.VirtualTopic.Orders").ok());
  ASSERT_TRUE(r->route("/", "amq.topic", "VirtualTopic.Other", nullptr, &out).ok());
  EXPECT_TRUE(out.destinations().empty());
}

}  // namespace
}  // namespace wharf::broker
