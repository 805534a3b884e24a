// Exchange type x-delayed-message: declared with x-delayed-type, routes as
// that type (the delay itself is the front end's and the delay engine's),
// tells the publish path it is delayed, and survives a restart as declared.
#include <gtest/gtest.h>

#include "../../storage/test_util.h"
#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;

ExchangeDef delayed_def(std::string name, std::string_view inner, bool durable = true) {
  ExchangeDef d;
  d.name = std::move(name);
  d.durable = durable;
  d.arguments = table({{"x-delayed-type", std::string(inner)}});
  auto t = parse_declared_type(kDelayedMessageType, d.arguments);
  EXPECT_TRUE(t.ok());
  if (t.ok()) {
    d.type = t->type;
    d.delayed = t->delayed;
  }
  return d;
}

TEST(DelayedExchange, DeclaredTypeNeedsAKnownDelayedType) {
  auto ok = parse_declared_type("x-delayed-message", table({{"x-delayed-type", "topic"}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->type, ExchangeType::kTopic);
  EXPECT_TRUE(ok->delayed);
  EXPECT_EQ(parse_declared_type("x-delayed-message", {}).code(), Errc::kPreconditionFailed);
  EXPECT_EQ(parse_declared_type("x-delayed-message", table({{"x-delayed-type", "nope"}})).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(parse_declared_type("x-delayed-message", table({{"x-delayed-type", int32_t(1)}})).code(),
            Errc::kPreconditionFailed);
  auto plain = parse_declared_type("fanout", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->delayed);
  EXPECT_EQ(parse_declared_type("x-unknown", {}).code(), Errc::kUnsupported);
}

TEST(DelayedExchange, RoutesAsItsDelayedTypeAndSaysItIsDelayed) {
  auto r = memory_registry();
  ASSERT_TRUE(r->declare_exchange("/", delayed_def("dx", "topic", false)).ok());
  declare_queues(*r, {"q1"});
  ASSERT_TRUE(r->bind("/", qbind("dx", "q1", "a.*")).ok());
  RouteResult rr;
  ASSERT_TRUE(r->route("/", "dx", "a.b", nullptr, &rr).ok());
  EXPECT_TRUE(rr.delayed_exchange());
  ASSERT_EQ(rr.size(), 1u);
  EXPECT_EQ(rr.destinations()[0].name, "q1");
  ASSERT_TRUE(r->route("/", "", "q1", nullptr, &rr).ok());
  EXPECT_FALSE(rr.delayed_exchange());  // reset by every route()
}

TEST(DelayedExchange, RedeclareMustMatchTypeAndDelayedType) {
  auto r = memory_registry();
  ASSERT_TRUE(r->declare_exchange("/", delayed_def("dx", "direct", false)).ok());
  EXPECT_TRUE(r->declare_exchange("/", delayed_def("dx", "direct", false)).ok());
  EXPECT_EQ(r->declare_exchange("/", delayed_def("dx", "fanout", false)).code(), Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("dx", ExchangeType::kDirect)).code(), Errc::kPreconditionFailed);
}

TEST(DelayedExchange, SurvivesARestartAsDeclared) {
  storage::testing::TempDir dir;
  RegistryOptions o;
  o.meta_dir = dir.sub("meta");
  {
    auto r = Registry::open(o);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE((*r)->declare_exchange("/", delayed_def("dx", "headers")).ok());
    ASSERT_TRUE((*r)->flush().ok());
  }
  auto r = Registry::open(o);
  ASSERT_TRUE(r.ok());
  auto x = (*r)->find_exchange("/", "dx");
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(x->delayed);
  EXPECT_EQ(x->type, ExchangeType::kHeaders);
  EXPECT_EQ(x->declared_type(), "x-delayed-message");
}

}  // namespace
}  // namespace wharf::broker::routing
