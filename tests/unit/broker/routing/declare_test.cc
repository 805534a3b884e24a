// exchange.declare / queue.declare semantics: equivalence, reserved names,
// passive declares, server-named and exclusive queues, argument checks.
#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;

class Declare : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> r = memory_registry();
};

TEST_F(Declare, EveryVhostHasTheBuiltinExchanges) {
  ASSERT_TRUE(r->create_vhost("v2").ok());
  for (std::string_view vh : {"/", "v2"}) {
    for (auto [name, type] : {std::pair{"amq.direct", ExchangeType::kDirect}, {"amq.fanout", ExchangeType::kFanout},
                              {"amq.topic", ExchangeType::kTopic}, {"amq.headers", ExchangeType::kHeaders},
                              {"amq.match", ExchangeType::kHeaders}}) {
      auto x = r->find_exchange(vh, name);
      ASSERT_TRUE(x.ok()) << name;
      EXPECT_EQ(x->type, type);
      EXPECT_TRUE(x->durable);
    }
    EXPECT_EQ(r->list_exchanges(vh).size(), 6u);  // and the default exchange
  }
}

TEST_F(Declare, ExchangeRedeclareMustBeEquivalent) {
  auto d = xdef("logs", ExchangeType::kTopic, true);
  ASSERT_TRUE(r->declare_exchange("/", d).ok());
  EXPECT_TRUE(r->declare_exchange("/", d).ok());
  auto e = r->declare_exchange("/", xdef("logs", ExchangeType::kFanout, true));
  EXPECT_EQ(e.code(), Errc::kPreconditionFailed);
  EXPECT_NE(e.error().message.find("inequivalent arg 'type' for exchange 'logs' in vhost '/'"), std::string::npos)
      << e.error().message;
  EXPECT_EQ(r->declare_exchange("/", xdef("logs", ExchangeType::kTopic, false)).code(), Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("logs", ExchangeType::kTopic, true, true)).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("logs", ExchangeType::kTopic, true, false, true)).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("logs", ExchangeType::kTopic, true, false, false,
                                          table({{"alternate-exchange", "ae"}})))
                .code(),
            Errc::kPreconditionFailed);
  // Arguments other than alternate-exchange are not compared (RabbitMQ).
  EXPECT_TRUE(r->declare_exchange("/", xdef("logs", ExchangeType::kTopic, true, false, false,
                                            table({{"x-custom", int32_t(1)}})))
                  .ok());
  // The stored definition is the first one.
  EXPECT_TRUE(r->find_exchange("/", "logs")->arguments.empty());
}

TEST_F(Declare, AlternateExchangeArgumentIsCompared) {
  auto with_ae = [](const char* ae) {
    return xdef("x", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", ae}}));
  };
  ASSERT_TRUE(r->declare_exchange("/", with_ae("ae1")).ok());
  EXPECT_TRUE(r->declare_exchange("/", with_ae("ae1")).ok());
  EXPECT_EQ(r->declare_exchange("/", with_ae("ae2")).code(), Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("x", ExchangeType::kDirect)).code(), Errc::kPreconditionFailed);
  auto bad = r->declare_exchange(
      "/", xdef("y", ExchangeType::kDirect, false, false, false, table({{"alternate-exchange", int32_t(5)}})));
  EXPECT_EQ(bad.code(), Errc::kPreconditionFailed);
  EXPECT_EQ(r->find_exchange("/", "y").code(), Errc::kNotFound);
}

TEST_F(Declare, ReservedAndDefaultExchangeNames) {
  auto amq = r->declare_exchange("/", xdef("amq.mine", ExchangeType::kDirect));
  EXPECT_EQ(amq.code(), Errc::kAccessRefused);
  EXPECT_EQ(amq.error().message, "exchange name 'amq.mine' contains reserved prefix 'amq.*'");
  // Re-declaring a built-in exactly as it is is allowed; differently is not.
  EXPECT_TRUE(r->declare_exchange("/", xdef("amq.direct", ExchangeType::kDirect, true)).ok());
  EXPECT_EQ(r->declare_exchange("/", xdef("amq.direct", ExchangeType::kFanout, true)).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_exchange("/", xdef("", ExchangeType::kDirect, true)).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->declare_exchange("/", xdef("", ExchangeType::kDirect), true).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->delete_exchange("/", "").code(), Errc::kAccessRefused);
  EXPECT_EQ(r->delete_exchange("/", "amq.topic").code(), Errc::kAccessRefused);
  EXPECT_TRUE(r->find_exchange("/", "amq.topic").ok());
}

TEST_F(Declare, UnknownExchangeType) {
  auto t = parse_exchange_type("x-consistent-hash");
  EXPECT_EQ(t.code(), Errc::kUnsupported);
  EXPECT_EQ(t.error().message, "unknown exchange type 'x-consistent-hash'");
  EXPECT_EQ(*parse_exchange_type("headers"), ExchangeType::kHeaders);
}

TEST_F(Declare, PassiveExchangeDeclare) {
  auto missing = r->declare_exchange("/", xdef("nope", ExchangeType::kDirect), true);
  EXPECT_EQ(missing.code(), Errc::kNotFound);
  EXPECT_EQ(missing.error().message, "no exchange 'nope' in vhost '/'");
  ASSERT_TRUE(r->declare_exchange("/", xdef("real", ExchangeType::kFanout, true)).ok());
  // Passive ignores every other field.
  auto found = r->declare_exchange("/", xdef("real", ExchangeType::kTopic), true);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->type, ExchangeType::kFanout);
  EXPECT_EQ(r->declare_exchange("missing-vhost", xdef("real", ExchangeType::kTopic), true).code(), Errc::kNotFound);
}

TEST_F(Declare, QueueRedeclareMustBeEquivalent) {
  auto d = qdecl("jobs", true, false, false, table({{"x-max-length", int64_t(10)}, {"x-custom", "a"}}));
  auto first = r->declare_queue("/", d, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  auto again = r->declare_queue("/", d, 2);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  // Integer width does not matter; unchecked arguments are not compared.
  auto narrower = qdecl("jobs", true, false, false, table({{"x-max-length", int16_t(10)}, {"x-custom", "b"}}));
  EXPECT_TRUE(r->declare_queue("/", narrower, 3).ok());
  auto e = r->declare_queue("/", qdecl("jobs", false, false, false, table({{"x-max-length", int64_t(10)}})), 1);
  EXPECT_EQ(e.code(), Errc::kPreconditionFailed);
  EXPECT_NE(e.error().message.find("inequivalent arg 'durable' for queue 'jobs' in vhost '/'"), std::string::npos);
  EXPECT_EQ(r->declare_queue("/", qdecl("jobs", true, false, true, table({{"x-max-length", int64_t(10)}})), 1).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_queue("/", qdecl("jobs", true, false, false, table({{"x-max-length", int64_t(11)}})), 1).code(),
            Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_queue("/", qdecl("jobs", true), 1).code(), Errc::kPreconditionFailed);
  EXPECT_EQ(r->declare_queue("/", qdecl("jobs", true, false, false, table({{"x-max-length", "10"}})), 1).code(),
            Errc::kPreconditionFailed);
}

TEST_F(Declare, QueueTypeClassicIsTheDefault) {
  ASSERT_TRUE(r->declare_queue("/", qdecl("q"), kNoOwner).ok());
  EXPECT_TRUE(r->declare_queue("/", qdecl("q", false, false, false, table({{"x-queue-type", "classic"}})), kNoOwner)
                  .ok());
  EXPECT_EQ(r->declare_queue("/", qdecl("q", false, false, false, table({{"x-queue-type", "quorum"}})), kNoOwner)
                .code(),
            Errc::kPreconditionFailed);
}

TEST_F(Declare, QueueArgumentsAreValidated) {
  auto declare = [&](Table args, bool durable = false) {
    return r->declare_queue("/", qdecl("q", durable, false, false, std::move(args)), kNoOwner).code();
  };
  EXPECT_EQ(declare(table({{"x-max-priority", int32_t(256)}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-max-priority", int32_t(-1)}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-message-ttl", "1000"}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-message-ttl", 1.5}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-expires", int32_t(0)}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-overflow", "drop-tail"}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-dead-letter-routing-key", "k"}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-single-active-consumer", int32_t(1)}})), Errc::kPreconditionFailed);
  EXPECT_EQ(declare(table({{"x-queue-type", "stream"}})), Errc::kPreconditionFailed);  // streams are durable
  auto e = r->declare_queue("/", qdecl("q", false, false, false, table({{"x-max-priority", int32_t(300)}})), 0);
  EXPECT_NE(e.error().message.find("invalid arg 'x-max-priority' for queue 'q' in vhost '/'"), std::string::npos)
      << e.error().message;
  EXPECT_EQ(r->find_queue("/", "q").code(), Errc::kNotFound);
  EXPECT_EQ(declare(table({{"x-max-priority", uint8_t(255)},
                           {"x-message-ttl", int32_t(0)},
                           {"x-expires", int64_t(1000)},
                           {"x-overflow", "reject-publish-dlx"},
                           {"x-dead-letter-exchange", "dlx"},
                           {"x-dead-letter-routing-key", "dead"},
                           {"x-single-active-consumer", true}})),
            Errc::kOk);
  EXPECT_EQ(r->declare_queue("/", qdecl("s", true, false, false, table({{"x-queue-type", "stream"}})), 0).code(),
            Errc::kOk);
  EXPECT_EQ(r->find_queue("/", "s")->queue_type(), "stream");
}

TEST_F(Declare, ServerNamedQueues) {
  auto a = r->declare_queue("/", qdecl(""), 1);
  auto b = r->declare_queue("/", qdecl(""), 1);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string& n = a->queue.name;
  EXPECT_EQ(n.rfind("amq.gen-", 0), 0u) << n;
  EXPECT_EQ(n.size(), 8u + 22u) << n;
  EXPECT_EQ(n.find_first_not_of("amq.gen-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"),
            std::string::npos)
      << n;
  EXPECT_NE(n, b->queue.name);
  EXPECT_TRUE(r->find_queue("/", n).ok());
  EXPECT_EQ(routed(*r, "", n), Names{n});
  // Passive declare of a server-named queue works; an active one is refused
  // like every amq.* name (RabbitMQ checks the name before looking it up).
  QueueDeclare passive;
  passive.name = n;
  passive.passive = true;
  EXPECT_TRUE(r->declare_queue("/", passive, 1).ok());
  EXPECT_EQ(r->declare_queue("/", qdecl(n), 1).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->declare_queue("/", qdecl("amq.mine"), 1).code(), Errc::kAccessRefused);
  EXPECT_EQ(r->declare_queue("/", qdecl("", true, false, false, table({{"x-queue-type", "quorum"}})), 1).code(),
            Errc::kPreconditionFailed);
}

TEST_F(Declare, PassiveQueueDeclare) {
  QueueDeclare p;
  p.name = "nope";
  p.passive = true;
  auto e = r->declare_queue("/", p, 1);
  EXPECT_EQ(e.code(), Errc::kNotFound);
  EXPECT_EQ(e.error().message, "no queue 'nope' in vhost '/'");
  ASSERT_TRUE(r->declare_queue("/", qdecl("real", true), 1).ok());
  p.name = "real";
  p.durable = false;  // ignored when passive
  auto ok = r->declare_queue("/", p, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->queue.durable);
  EXPECT_FALSE(ok->created);
}

TEST_F(Declare, ExclusiveQueuesBelongToTheirConnection) {
  const OwnerToken c1 = 11, c2 = 22;
  auto q = r->declare_queue("/", qdecl("mine", true, true), c1);
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->queue.durable);  // exclusive implies transient
  EXPECT_EQ(q->queue.owner, c1);
  EXPECT_EQ(r->declare_queue("/", qdecl("mine", true, true), kNoOwner).code(), Errc::kInvalidArgument);

  EXPECT_TRUE(r->declare_queue("/", qdecl("mine", false, true), c1).ok());
  EXPECT_EQ(r->declare_queue("/", qdecl("mine", false, true), c2).code(), Errc::kResourceLocked);
  EXPECT_EQ(r->declare_queue("/", qdecl("mine", false, false), c1).code(), Errc::kResourceLocked);  // strict
  QueueDeclare passive;
  passive.name = "mine";
  passive.passive = true;
  EXPECT_TRUE(r->declare_queue("/", passive, c1).ok());
  EXPECT_EQ(r->declare_queue("/", passive, c2).code(), Errc::kResourceLocked);
  EXPECT_EQ(r->access_queue("/", "mine", c2).code(), Errc::kResourceLocked);
  EXPECT_EQ(r->bind("/", qbind("amq.fanout", "mine", ""), c2).code(), Errc::kResourceLocked);
  EXPECT_EQ(r->delete_queue("/", "mine", c2).code(), Errc::kResourceLocked);
  ASSERT_TRUE(r->bind("/", qbind("amq.fanout", "mine", ""), c1).ok());
  // Anyone may publish to it.
  EXPECT_EQ(routed(*r, "amq.fanout", ""), Names{"mine"});

  // A shared queue cannot be re-declared exclusive.
  ASSERT_TRUE(r->declare_queue("/", qdecl("shared"), c2).ok());
  EXPECT_EQ(r->declare_queue("/", qdecl("shared", false, true), c2).code(), Errc::kResourceLocked);
  EXPECT_TRUE(r->access_queue("/", "shared", c1).ok());

  ASSERT_TRUE(r->declare_queue("/", qdecl("mine2", false, true), c1).ok());
  auto gone = r->connection_closed(c1);
  std::sort(gone.begin(), gone.end(), [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ(gone, (std::vector<QueueRef>{{"/", "mine"}, {"/", "mine2"}}));
  EXPECT_EQ(r->find_queue("/", "mine").code(), Errc::kNotFound);
  EXPECT_EQ(routed(*r, "amq.fanout", ""), Names{});
  EXPECT_TRUE(r->connection_closed(c1).empty());
  EXPECT_TRUE(r->find_queue("/", "shared").ok());
}

TEST_F(Declare, AutoDeleteQueueGoesWithItsLastConsumer) {
  ASSERT_TRUE(r->declare_queue("/", qdecl("temp", false, false, true), 1).ok());
  ASSERT_TRUE(r->declare_queue("/", qdecl("keep"), 1).ok());
  ASSERT_TRUE(r->bind("/", qbind("amq.topic", "temp", "#")).ok());
  EXPECT_FALSE(r->last_consumer_gone("/", "keep"));
  EXPECT_TRUE(r->find_queue("/", "keep").ok());
  EXPECT_TRUE(r->last_consumer_gone("/", "temp"));
  EXPECT_EQ(r->find_queue("/", "temp").code(), Errc::kNotFound);
  EXPECT_TRUE(r->list_bindings("/").empty());
  EXPECT_FALSE(r->last_consumer_gone("/", "temp"));
}

TEST_F(Declare, DeleteQueue) {
  ASSERT_TRUE(r->declare_queue("/", qdecl("q", true), 1).ok());
  ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q", "k")).ok());
  auto d = r->delete_queue("/", "q", 2);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->durable);
  EXPECT_EQ(r->delete_queue("/", "q", 2).code(), Errc::kNotFound);
  EXPECT_TRUE(r->list_bindings("/").empty());
  EXPECT_EQ(routed(*r, "amq.direct", "k"), Names{});
  // A queue of the same name later starts without the old bindings.
  ASSERT_TRUE(r->declare_queue("/", qdecl("q"), 1).ok());
  EXPECT_EQ(routed(*r, "amq.direct", "k"), Names{});
  EXPECT_TRUE(r->remove_queue("/", "q"));
  EXPECT_FALSE(r->remove_queue("/", "q"));
}

TEST_F(Declare, Vhosts) {
  EXPECT_EQ(r->list_vhosts(), std::vector<std::string>{"/"});
  EXPECT_EQ(r->create_vhost("/").code(), Errc::kAlreadyExists);
  EXPECT_EQ(r->create_vhost("").code(), Errc::kInvalidArgument);
  ASSERT_TRUE(r->create_vhost("shop").ok());
  EXPECT_EQ(r->declare_queue("nope", qdecl("q"), 1).code(), Errc::kNotFound);
  ASSERT_TRUE(r->declare_queue("shop", qdecl("a"), 1).ok());
  ASSERT_TRUE(r->declare_queue("shop", qdecl("b", false, true), 7).ok());
  ASSERT_TRUE(r->set_permissions("guest", "shop", ".*", ".*", ".*").ok());
  auto gone = r->delete_vhost("shop");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->size(), 2u);
  EXPECT_FALSE(r->has_vhost("shop"));
  EXPECT_EQ(r->delete_vhost("shop").code(), Errc::kNotFound);
  EXPECT_TRUE(r->connection_closed(7).empty());  // the exclusive queue went with the vhost
  EXPECT_EQ(r->list_permissions().size(), 1u);   // guest on "/" only
  ASSERT_TRUE(r->create_vhost("shop").ok());
  EXPECT_TRUE(r->list_queues("shop").empty());
  EXPECT_EQ(r->check_vhost_access("guest", "shop").code(), Errc::kNotAllowed);
}

}  // namespace
}  // namespace wharf::broker::routing
