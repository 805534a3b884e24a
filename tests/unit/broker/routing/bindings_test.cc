// bind / unbind / exchange.delete and auto-delete exchanges.
#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;

class Bindings : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> r = memory_registry();
  bool exists(std::string_view x) { return r->find_exchange("/", x).ok(); }
};

TEST_F(Bindings, Errors) {
  declare_queues(*r, {"q"});
  auto no_x = r->bind("/", qbind("nope", "q", "k"));
  EXPECT_EQ(no_x.code(), Errc::kNotFound);
  EXPECT_EQ(no_x.error().message, "no exchange 'nope' in vhost '/'");
  auto no_q = r->bind("/", qbind("amq.direct", "nope", "k"));
  EXPECT_EQ(no_q.code(), Errc::kNotFound);
  EXPECT_EQ(no_q.error().message, "no queue 'nope' in vhost '/'");
  EXPECT_EQ(r->bind("/", xbind("amq.direct", "nope", "k")).code(), Errc::kNotFound);
  EXPECT_EQ(r->bind("/", qbind("", "q", "q")).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->bind("/", xbind("amq.direct", "", "k")).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->unbind("/", qbind("", "q", "q")).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->bind("nope", qbind("amq.direct", "q", "k")).code(), Errc::kNotFound);
  EXPECT_TRUE(r->list_bindings("/").empty());
}

TEST_F(Bindings, BindingTwiceIsOneBindingButDifferentArgumentsAreTwo) {
  declare_queues(*r, {"q"});
  ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q", "k")).ok());
  ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q", "k")).ok());
  EXPECT_EQ(r->list_bindings("/").size(), 1u);
  ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q", "k", table({{"a", int32_t(1)}}))).ok());
  EXPECT_EQ(r->list_bindings("/").size(), 2u);
  EXPECT_EQ(routed(*r, "amq.direct", "k"), Names{"q"});
  // Unbinding one leaves the other routing.
  ASSERT_TRUE(r->unbind("/", qbind("amq.direct", "q", "k")).ok());
  EXPECT_EQ(routed(*r, "amq.direct", "k"), Names{"q"});
}

TEST_F(Bindings, UnbindMatchesArgumentsInAnyOrderAndMissingIsFine) {
  declare_queues(*r, {"q"});
  ASSERT_TRUE(r->bind("/", qbind("amq.headers", "q", "", table({{"b", int32_t(2)}, {"a", "x"}}))).ok());
  ASSERT_TRUE(r->unbind("/", qbind("amq.headers", "q", "", table({{"a", "x"}, {"b", int32_t(3)}}))).ok());
  EXPECT_EQ(r->list_bindings("/").size(), 1u);  // different value: not that binding
  ASSERT_TRUE(r->unbind("/", qbind("amq.headers", "q", "", table({{"a", "x"}, {"b", int32_t(2)}}))).ok());
  EXPECT_TRUE(r->list_bindings("/").empty());
  ASSERT_TRUE(r->unbind("/", qbind("amq.headers", "q", "")).ok());
  EXPECT_EQ(r->unbind("/", qbind("amq.headers", "gone", "")).code(), Errc::kNotFound);
  EXPECT_EQ(r->unbind("/", qbind("gone", "q", "")).code(), Errc::kNotFound);
}

TEST_F(Bindings, ListShowsWhatWasBound) {
  declare_queues(*r, {"q"});
  ASSERT_TRUE(r->declare_exchange("/", xdef("x", ExchangeType::kTopic)).ok());
  ASSERT_TRUE(r->bind("/", xbind("amq.topic", "x", "a.#")).ok());
  ASSERT_TRUE(r->bind("/", qbind("x", "q", "a.b")).ok());
  ASSERT_TRUE(r->bind("/", tbind("x", "kafka-topic", "#")).ok());
  auto list = r->list_bindings("/");
  ASSERT_EQ(list.size(), 3u);
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.destination < b.destination; });
  EXPECT_EQ(list[0], tbind("x", "kafka-topic", "#"));
  EXPECT_EQ(list[1], qbind("x", "q", "a.b"));
  EXPECT_EQ(list[2], xbind("amq.topic", "x", "a.#"));
}

TEST_F(Bindings, DeleteExchangeIfUnused) {
  declare_queues(*r, {"q"});
  ASSERT_TRUE(r->declare_exchange("/", xdef("x", ExchangeType::kFanout)).ok());
  ASSERT_TRUE(r->bind("/", qbind("x", "q", "")).ok());
  auto in_use = r->delete_exchange("/", "x", true);
  EXPECT_EQ(in_use.code(), Errc::kPreconditionFailed);
  EXPECT_EQ(in_use.error().message, "exchange 'x' in vhost '/' in use");
  ASSERT_TRUE(r->delete_exchange("/", "x").ok());
  EXPECT_FALSE(exists("x"));
  EXPECT_TRUE(r->list_bindings("/").empty());
  EXPECT_EQ(r->delete_exchange("/", "x").code(), Errc::kNotFound);
  // Unused: only bindings *from* the exchange count.
  ASSERT_TRUE(r->declare_exchange("/", xdef("dest", ExchangeType::kFanout)).ok());
  ASSERT_TRUE(r->bind("/", xbind("amq.fanout", "dest", "")).ok());
  EXPECT_TRUE(r->delete_exchange("/", "dest", true).ok());
  EXPECT_TRUE(r->list_bindings("/").empty());  // the binding to it went too
}

TEST_F(Bindings, AutoDeleteExchangeGoesWithItsLastBinding) {
  declare_queues(*r, {"q1", "q2"});
  ASSERT_TRUE(r->declare_exchange("/", xdef("ad", ExchangeType::kDirect, false, true)).ok());
  ASSERT_TRUE(r->declare_exchange("/", xdef("ad_unbound", ExchangeType::kDirect, false, true)).ok());
  ASSERT_TRUE(r->bind("/", qbind("ad", "q1", "k")).ok());
  ASSERT_TRUE(r->bind("/", qbind("ad", "q2", "k")).ok());
  ASSERT_TRUE(r->unbind("/", qbind("ad", "q1", "k")).ok());
  EXPECT_TRUE(exists("ad"));
  ASSERT_TRUE(r->delete_queue("/", "q2", kNoOwner).ok());  // last binding gone with the queue
  EXPECT_FALSE(exists("ad"));
  EXPECT_TRUE(exists("ad_unbound"));  // never bound: stays, as in RabbitMQ
}

TEST_F(Bindings, AutoDeleteCascadesThroughExchangeBindings) {
  declare_queues(*r, {"q"});
  ASSERT_TRUE(r->declare_exchange("/", xdef("top", ExchangeType::kFanout, false, true)).ok());
  ASSERT_TRUE(r->declare_exchange("/", xdef("mid", ExchangeType::kFanout, false, true)).ok());
  ASSERT_TRUE(r->bind("/", xbind("top", "mid", "")).ok());
  ASSERT_TRUE(r->bind("/", qbind("mid", "q", "")).ok());
  ASSERT_TRUE(r->bind("/", xbind("amq.fanout", "top", "")).ok());
  ASSERT_TRUE(r->remove_queue("/", "q"));
  // mid lost its only binding; deleting it removed top's only binding.
  EXPECT_FALSE(exists("mid"));
  EXPECT_FALSE(exists("top"));
  EXPECT_TRUE(exists("amq.fanout"));  // built-ins are never auto-deleted
  EXPECT_TRUE(r->list_bindings("/").empty());
}

TEST_F(Bindings, DeletingAnExchangeAutoDeletesSourcesLeftEmpty) {
  ASSERT_TRUE(r->declare_exchange("/", xdef("src", ExchangeType::kFanout, false, true)).ok());
  ASSERT_TRUE(r->declare_exchange("/", xdef("dst", ExchangeType::kFanout)).ok());
  ASSERT_TRUE(r->bind("/", xbind("src", "dst", "")).ok());
  ASSERT_TRUE(r->delete_exchange("/", "dst").ok());
  EXPECT_FALSE(exists("src"));
}

TEST_F(Bindings, TopicPatternTooDeepIsRefused) {
  declare_queues(*r, {"q"});
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += i ? ".a" : "a";
  EXPECT_EQ(r->bind("/", qbind("amq.topic", "q", deep)).code(), Errc::kInvalidArgument);
  EXPECT_TRUE(r->bind("/", qbind("amq.direct", "q", deep)).ok());  // only topic keys are split
}

}  // namespace
}  // namespace wharf::broker::routing
