// Where messages go: each exchange type, exchange-to-exchange bindings,
// alternate exchanges, internal exchanges, Kafka topic destinations.
#include <gtest/gtest.h>

#include <thread>

#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;

class Routing : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> r = memory_registry();
  void bind(const BindingDef& b) { ASSERT_TRUE(r->bind("/", b).ok()) << b.source << " -> " << b.destination; }
  void declare(const ExchangeDef& d) { ASSERT_TRUE(r->declare_exchange("/", d).ok()) << d.name; }
};

TEST_F(Routing, DefaultExchangeRoutesToTheQueueNamedByTheKey) {
  declare_queues(*r, {"orders", "audit"});
  EXPECT_EQ(routed(*r, "", "orders"), Names{"orders"});
  EXPECT_EQ(routed(*r, "", "missing"), Names{});
  EXPECT_EQ(routed(*r, "", ""), Names{});
}

TEST_F(Routing, DirectExchangeMatchesTheExactKey) {
  declare_queues(*r, {"q1", "q2", "q3"});
  bind(qbind("amq.direct", "q1", "k1"));
  bind(qbind("amq.direct", "q2", "k1"));
  bind(qbind("amq.direct", "q3", "k2"));
  EXPECT_EQ(routed(*r, "amq.direct", "k1"), (Names{"q1", "q2"}));
  EXPECT_EQ(routed(*r, "amq.direct", "k2"), Names{"q3"});
  EXPECT_EQ(routed(*r, "amq.direct", "k"), Names{});
  EXPECT_EQ(routed(*r, "amq.direct", "k1.x"), Names{});
}

TEST_F(Routing, FanoutIgnoresTheKey) {
  declare_queues(*r, {"q1", "q2"});
  bind(qbind("amq.fanout", "q1", ""));
  bind(qbind("amq.fanout", "q2", "whatever"));
  EXPECT_EQ(routed(*r, "amq.fanout", "anything"), (Names{"q1", "q2"}));
}

TEST_F(Routing, TopicExchangeWildcards) {
  declare_queues(*r, {"nyse", "ibm", "all", "none"});
  bind(qbind("amq.topic", "nyse", "stock.*.nyse"));
  bind(qbind("amq.topic", "ibm", "stock.ibm.#"));
  bind(qbind("amq.topic", "all", "#"));
  bind(qbind("amq.topic", "none", "bond.*"));
  EXPECT_EQ(routed(*r, "amq.topic", "stock.ibm.nyse"), (Names{"all", "ibm", "nyse"}));
  EXPECT_EQ(routed(*r, "amq.topic", "stock.ibm"), (Names{"all", "ibm"}));
  EXPECT_EQ(routed(*r, "amq.topic", "stock.msft.nyse"), (Names{"all", "nyse"}));
  EXPECT_EQ(routed(*r, "amq.topic", ""), Names{"all"});
  EXPECT_EQ(routed(*r, "amq.topic", "bond"), Names{"all"});
}

TEST_F(Routing, HeadersExchangeUsesBindingArguments) {
  declare_queues(*r, {"pdf_reports", "any_pdf_or_zip", "present"});
  bind(qbind("amq.headers", "pdf_reports", "ignored", table({{"format", "pdf"}, {"type", "report"}})));
  bind(qbind("amq.match", "any_pdf_or_zip", "", table({{"x-match", "any"}, {"format", "pdf"}, {"zip", true}})));
  bind(qbind("amq.headers", "present", "", table({{"trace", Void{}}})));
  Table h1 = table({{"type", "report"}, {"format", "pdf"}});
  EXPECT_EQ(routed(*r, "amq.headers", "", &h1), Names{"pdf_reports"});
  EXPECT_EQ(routed(*r, "amq.match", "", &h1), Names{"any_pdf_or_zip"});
  Table h2 = table({{"zip", true}, {"trace", int32_t(7)}});
  EXPECT_EQ(routed(*r, "amq.headers", "", &h2), Names{"present"});
  EXPECT_EQ(routed(*r, "amq.match", "", &h2), Names{"any_pdf_or_zip"});
  EXPECT_EQ(routed(*r, "amq.headers", "", nullptr), Names{});
}

TEST_F(Routing, HeadersExchangeRejectsBadXMatch) {
  declare_queues(*r, {"q"});
  EXPECT_EQ(r->bind("/", qbind("amq.headers", "q", "", table({{"x-match", "most"}}))).code(),
            Errc::kPreconditionFailed);
  EXPECT_TRUE(r->list_bindings("/").empty());
}

TEST_F(Routing, AQueueReachedTwiceGetsTheMessageOnce) {
  declare_queues(*r, {"q"});
  declare(xdef("inner", ExchangeType::kFanout));
  bind(qbind("amq.topic", "q", "a.*"));
  bind(qbind("amq.topic", "q", "#"));
  bind(xbind("amq.topic", "inner", "#"));
  bind(qbind("inner", "q", ""));
  EXPECT_EQ(routed(*r, "amq.topic", "a.b"), Names{"q"});
}

TEST_F(Routing, ExchangeToExchangeBindingsAreFollowed) {
  declare_queues(*r, {"q_direct", "q_leaf"});
  declare(xdef("front", ExchangeType::kTopic));
  declare(xdef("mid", ExchangeType::kDirect));
  declare(xdef("leaf", ExchangeType::kFanout));
  bind(xbind("front", "mid", "eu.#"));
  bind(xbind("mid", "leaf", "eu.orders"));
  bind(qbind("mid", "q_direct", "eu.orders"));
  bind(qbind("leaf", "q_leaf", ""));
  EXPECT_EQ(routed(*r, "front", "eu.orders"), (Names{"q_direct", "q_leaf"}));
  // mid matches on the same routing key the message carries.
  EXPECT_EQ(routed(*r, "front", "eu.payments"), Names{});
}

TEST_F(Routing, CyclesEndAndEveryQueueGetsOneCopy) {
  declare_queues(*r, {"qa", "qb"});
  declare(xdef("a", ExchangeType::kFanout));
  declare(xdef("b", ExchangeType::kFanout));
  bind(xbind("a", "b", ""));
  bind(xbind("b", "a", ""));
  bind(xbind("a", "a", ""));  // a self-loop too
  bind(qbind("a", "qa", ""));
  bind(qbind("b", "qb", ""));
  EXPECT_EQ(routed(*r, "a", "k"), (Names{"qa", "qb"}));
  EXPECT_EQ(routed(*r, "b", "k"), (Names{"qa", "qb"}));
}

TEST_F(Routing, AlternateExchangeTakesUnroutedMessages) {
  declare_queues(*r, {"matched", "unrouted"});
  declare(xdef("ae", ExchangeType::kFanout));
  declare(xdef("main", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "ae"}})));
  bind(qbind("main", "matched", "good"));
  bind(qbind("ae", "unrouted", ""));
  EXPECT_EQ(routed(*r, "main", "good"), Names{"matched"});
  EXPECT_EQ(routed(*r, "main", "bad"), Names{"unrouted"});
}

TEST_F(Routing, AlternateExchangesChainAndCycleSafely) {
  declare_queues(*r, {"last"});
  declare(xdef("x", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "y"}})));
  declare(xdef("y", ExchangeType::kDirect, false, false, true, table({{"alternate-exchange", "z"}})));  // internal
  declare(xdef("z", ExchangeType::kFanout));
  bind(qbind("z", "last", ""));
  EXPECT_EQ(routed(*r, "x", "nothing"), Names{"last"});

  declare(xdef("p", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "q"}})));
  declare(xdef("q", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "p"}})));
  EXPECT_EQ(routed(*r, "p", "nothing"), Names{});

  declare(xdef("dangling", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "gone"}})));
  EXPECT_EQ(routed(*r, "dangling", "k"), Names{});
}

TEST_F(Routing, AlternateExchangeNotUsedWhenABindingMatchedEvenIfItLedNowhere) {
  declare_queues(*r, {"unrouted"});
  declare(xdef("ae", ExchangeType::kFanout));
  declare(xdef("empty", ExchangeType::kFanout));
  declare(xdef("main", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", "ae"}})));
  bind(qbind("ae", "unrouted", ""));
  bind(xbind("main", "empty", "k"));
  EXPECT_EQ(routed(*r, "main", "k"), Names{});
  EXPECT_EQ(routed(*r, "main", "other"), Names{"unrouted"});
}

TEST_F(Routing, InternalExchangeOnlyThroughBindings) {
  declare_queues(*r, {"q"});
  declare(xdef("internal", ExchangeType::kFanout, false, false, true));
  bind(qbind("internal", "q", ""));
  bind(xbind("amq.fanout", "internal", ""));
  RouteResult out;
  EXPECT_EQ(r->route("/", "internal", "k", nullptr, &out).code(), Errc::kAccessRefused);
  EXPECT_EQ(routed(*r, "amq.fanout", "k"), Names{"q"});
}

TEST_F(Routing, MissingExchangeOrVhostIsNotFound) {
  RouteResult out;
  EXPECT_EQ(r->route("/", "nope", "k", nullptr, &out).code(), Errc::kNotFound);
  EXPECT_EQ(r->route("nope", "amq.direct", "k", nullptr, &out).code(), Errc::kNotFound);
  EXPECT_EQ(r->route("nope", "", "k", nullptr, &out).code(), Errc::kNotFound);
}

TEST_F(Routing, KafkaTopicsAreDestinations) {
  declare_queues(*r, {"q"});
  bind(tbind("amq.topic", "orders", "order.#"));
  bind(qbind("amq.topic", "q", "order.created"));
  EXPECT_EQ(routed(*r, "amq.topic", "order.created"), (Names{"q", "topic:orders"}));
  EXPECT_EQ(routed(*r, "amq.topic", "order.paid"), Names{"topic:orders"});
  EXPECT_EQ(r->remove_topic("orders"), 1u);
  EXPECT_EQ(routed(*r, "amq.topic", "order.paid"), Names{});
  EXPECT_EQ(r->list_bindings("/").size(), 1u);
}

TEST_F(Routing, SeveralRoutingKeysRouteToTheUnion) {
  declare_queues(*r, {"a", "b", "c"});
  bind(qbind("amq.direct", "a", "ka"));
  bind(qbind("amq.direct", "b", "kb"));
  bind(qbind("amq.direct", "c", "kc"));
  RouteResult out;
  std::string_view keys[] = {"ka", "kb", "ka"};
  ASSERT_TRUE(r->route("/", "amq.direct", keys, nullptr, &out).ok());
  EXPECT_EQ(out.size(), 2u);
  std::string_view qs[] = {"a", "c", "zz"};
  ASSERT_TRUE(r->route("/", "", qs, nullptr, &out).ok());
  EXPECT_EQ(out.size(), 2u);
}

TEST_F(Routing, ResultIsReusable) {
  declare_queues(*r, {"q1", "q2"});
  bind(qbind("amq.fanout", "q1", ""));
  RouteResult out;
  ASSERT_TRUE(r->route("/", "amq.fanout", "", nullptr, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.destinations()[0].name, "q1");
  ASSERT_TRUE(r->route("/", "", "q2", nullptr, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.destinations()[0].name, "q2");
  ASSERT_TRUE(r->route("/", "amq.direct", "none", nullptr, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(Routing, FanoutToManyQueuesDeduplicatesPastTheSmallSet) {
  for (int i = 0; i < 100; ++i) {
    std::string q = "q" + std::to_string(i);
    ASSERT_TRUE(r->declare_queue("/", qdecl(q), kNoOwner).ok());
    bind(qbind("amq.fanout", q, ""));
    bind(qbind("amq.topic", q, "#"));
  }
  bind(xbind("amq.fanout", "amq.topic", ""));
  RouteResult out;
  ASSERT_TRUE(r->route("/", "amq.fanout", "x", nullptr, &out).ok());
  EXPECT_EQ(out.size(), 100u);
}

TEST_F(Routing, VhostsAreSeparate) {
  ASSERT_TRUE(r->create_vhost("other").ok());
  ASSERT_TRUE(r->declare_queue("other", qdecl("q"), kNoOwner).ok());
  ASSERT_TRUE(r->bind("other", qbind("amq.fanout", "q", "")).ok());
  EXPECT_EQ(routed(*r, "amq.fanout", "", nullptr, "other"), Names{"q"});
  EXPECT_EQ(routed(*r, "amq.fanout", "", nullptr, "/"), Names{});
  EXPECT_EQ(routed(*r, "", "q", nullptr, "/"), Names{});
}

TEST_F(Routing, RoutesWhileAnotherThreadDeclares) {
  // Readers on several threads see consistent state while a writer changes
  // it; run under ASan/TSan this also checks the locking.
  declare_queues(*r, {"stable"});
  bind(qbind("amq.topic", "stable", "s.#"));
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      RouteResult out;
      while (!stop.load()) {
        if (!r->route("/", "amq.topic", "s.x", nullptr, &out).ok()) ++bad;
        bool found = false;
        for (auto& d : out.destinations()) found = found || d.name == "stable";
        if (!found) ++bad;
      }
    });
  for (int i = 0; i < 2000; ++i) {
    std::string q = "q" + std::to_string(i);
    // EXPECT, not ASSERT: the readers must be joined whatever happens.
    EXPECT_TRUE(r->declare_queue("/", qdecl(q), kNoOwner).ok());
    EXPECT_TRUE(r->bind("/", qbind("amq.topic", q, "s.*")).ok());
    if (i % 2) {
      EXPECT_TRUE(r->delete_queue("/", q, kNoOwner).ok());
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(routed(*r, "amq.topic", "s.x").size(), 1001u);
}

}  // namespace
}  // namespace wharf::broker::routing
