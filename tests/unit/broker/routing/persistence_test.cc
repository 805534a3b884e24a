// What survives a restart: durable entities do, transient ones do not; torn
// writes are cut, corruption is reported; snapshots keep the files small.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../storage/test_util.h"
#include "broker/routing/meta_store.h"
#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;
using storage::testing::TempDir;

class Persistence : public ::testing::Test {
 protected:
  TempDir dir;
  std::string meta() const { return dir.sub("meta"); }

  std::unique_ptr<Registry> open(uint64_t compact_min_bytes = 1 << 20, int64_t flush_interval_ms = 200) {
    RegistryOptions o;
    o.meta_dir = meta();
    o.reader_slots = 2;
    o.compact_min_bytes = compact_min_bytes;
    o.flush_interval_ms = flush_interval_ms;
    auto r = Registry::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : nullptr;
  }
  result<std::unique_ptr<Registry>> try_open() {
    RegistryOptions o;
    o.meta_dir = meta();
    return Registry::open(o);
  }
};

std::vector<std::string> queue_names(const Registry& r, std::string_view vhost = "/") {
  std::vector<std::string> out;
  for (auto& q : r.list_queues(vhost)) out.push_back(q.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(Persistence, DurableSurvivesTransientDoesNot) {
  Table typed = table({{"x-max-length", int32_t(100)},
                       {"x-message-ttl", int64_t(60000)},
                       {"x-dead-letter-exchange", "dlx"},
                       {"custom-f", 1.25},
                       {"custom-b", Bytes{std::string("\x00\xff", 2)}},
                       {"custom-t", Table{{TableEntry{"nested", Array{{Value(true), Value(Decimal{2, 314})}}}}}},
                       {"custom-ts", Timestamp{1700000000}},
                       {"custom-v", Void{}}});
  {
    auto r = open();
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->create_vhost("shop").ok());
    ASSERT_TRUE(r->add_user("app", "pw", {"management"}).ok());
    ASSERT_TRUE(r->set_permissions("app", "shop", "^app", ".*", "").ok());
    ASSERT_TRUE(r->declare_exchange("shop", xdef("orders", ExchangeType::kTopic, true, false, false,
                                                 table({{"alternate-exchange", "ae"}})))
                    .ok());
    ASSERT_TRUE(r->declare_exchange("shop", xdef("ae", ExchangeType::kFanout, true, false, true)).ok());
    ASSERT_TRUE(r->declare_exchange("shop", xdef("scratch", ExchangeType::kDirect, false)).ok());
    ASSERT_TRUE(r->declare_queue("shop", qdecl("durable_q", true, false, false, typed), 1).ok());
    ASSERT_TRUE(r->declare_queue("shop", qdecl("transient_q", false), 1).ok());
    ASSERT_TRUE(r->declare_queue("shop", qdecl("exclusive_q", true, true), 1).ok());
    ASSERT_TRUE(r->declare_queue("shop", qdecl("unrouted", true), 1).ok());
    ASSERT_TRUE(r->bind("shop", qbind("orders", "durable_q", "order.#")).ok());
    ASSERT_TRUE(r->bind("shop", qbind("orders", "transient_q", "order.#")).ok());
    ASSERT_TRUE(r->bind("shop", qbind("ae", "unrouted", "")).ok());
    ASSERT_TRUE(r->bind("shop", qbind("amq.headers", "durable_q", "", table({{"x-match", "any"}, {"k", "v"}}))).ok());
    ASSERT_TRUE(r->bind("shop", xbind("amq.topic", "orders", "#")).ok());
    ASSERT_TRUE(r->bind("shop", xbind("amq.topic", "scratch", "#")).ok());  // to a transient exchange
    ASSERT_TRUE(r->bind("shop", tbind("orders", "orders-topic", "order.created")).ok());
    ASSERT_TRUE(r->flush().ok());
    EXPECT_GE(r->durable_seq(), r->find_queue("shop", "durable_q")->seq);
  }
  auto r = open();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_vhost("shop"));
  EXPECT_TRUE(r->authenticate("app", "pw").ok());
  EXPECT_TRUE(r->authenticate("guest", "guest").ok());
  EXPECT_TRUE(r->find_user("app")->has_tag("management"));
  EXPECT_TRUE(r->check("app", "shop", Perm::kConfigure, "app.x"));
  EXPECT_FALSE(r->check("app", "shop", Perm::kRead, "app.x"));
  EXPECT_EQ(queue_names(*r, "shop"), (Names{"durable_q", "unrouted"}));
  auto q = r->find_queue("shop", "durable_q");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->durable);
  EXPECT_EQ(q->arguments, typed);  // every type comes back as it was
  EXPECT_GT(q->seq, 0u);
  auto x = r->find_exchange("shop", "orders");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->type, ExchangeType::kTopic);
  EXPECT_EQ(x->alternate_exchange(), "ae");
  EXPECT_TRUE(r->find_exchange("shop", "ae")->internal);
  EXPECT_EQ(r->find_exchange("shop", "scratch").code(), Errc::kNotFound);
  // Routing works on the reloaded graph, through e2e, AE and headers.
  EXPECT_EQ(routed(*r, "amq.topic", "order.created", nullptr, "shop"), (Names{"durable_q", "topic:orders-topic"}));
  EXPECT_EQ(routed(*r, "orders", "other", nullptr, "shop"), Names{"unrouted"});
  Table h = table({{"k", "v"}});
  EXPECT_EQ(routed(*r, "amq.headers", "", &h, "shop"), Names{"durable_q"});
  EXPECT_EQ(r->list_bindings("shop").size(), 5u);
}

TEST_F(Persistence, DeletionsSurviveToo) {
  {
    auto r = open();
    ASSERT_TRUE(r->declare_queue("/", qdecl("q1", true), 1).ok());
    ASSERT_TRUE(r->declare_queue("/", qdecl("q2", true), 1).ok());
    ASSERT_TRUE(r->declare_exchange("/", xdef("ad", ExchangeType::kFanout, true, true)).ok());
    ASSERT_TRUE(r->bind("/", qbind("ad", "q1", "")).ok());
    ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q2", "a")).ok());
    ASSERT_TRUE(r->bind("/", qbind("amq.direct", "q2", "b")).ok());
    ASSERT_TRUE(r->unbind("/", qbind("amq.direct", "q2", "a")).ok());
    ASSERT_TRUE(r->delete_queue("/", "q1", 1).ok());  // auto-deletes "ad"
    ASSERT_TRUE(r->create_vhost("tmp").ok());
    ASSERT_TRUE(r->delete_vhost("tmp").ok());
    ASSERT_TRUE(r->delete_user("guest").ok());
    ASSERT_TRUE(r->add_user("admin", "pw").ok());
  }
  auto r = open();
  EXPECT_EQ(queue_names(*r), Names{"q2"});
  EXPECT_EQ(r->find_exchange("/", "ad").code(), Errc::kNotFound);
  EXPECT_EQ(routed(*r, "amq.direct", "a"), Names{});
  EXPECT_EQ(routed(*r, "amq.direct", "b"), Names{"q2"});
  EXPECT_FALSE(r->has_vhost("tmp"));
  // The defaults are created on the first start only.
  EXPECT_EQ(r->find_user("guest").code(), Errc::kNotFound);
  EXPECT_TRUE(r->find_user("admin").ok());
}

TEST_F(Persistence, TransientChangesWriteNothing) {
  auto r = open();
  uint64_t before = r->last_seq();
  ASSERT_TRUE(r->declare_queue("/", qdecl("t"), 1).ok());
  ASSERT_TRUE(r->declare_exchange("/", xdef("tx", ExchangeType::kFanout)).ok());
  ASSERT_TRUE(r->bind("/", qbind("tx", "t", "")).ok());
  ASSERT_TRUE(r->bind("/", qbind("amq.fanout", "t", "")).ok());
  EXPECT_EQ(r->last_seq(), before);
  EXPECT_EQ(r->find_queue("/", "t")->seq, 0u);
}

TEST_F(Persistence, ChangesBecomeDurableOnTheirOwn) {
  auto r = open();
  ASSERT_TRUE(r->declare_queue("/", qdecl("q", true), 1).ok());
  uint64_t seq = r->find_queue("/", "q")->seq;
  // flush_interval_ms is 200 by default: the writer gets there without a flush().
  for (int i = 0; i < 100 && r->durable_seq() < seq; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(r->durable_seq(), seq);
  std::atomic<int> called{0};
  r->flush_async([&](status st) {
    EXPECT_TRUE(st.ok());
    ++called;
  });
  EXPECT_EQ(called.load(), 1);  // already durable: inline
  ASSERT_TRUE(r->declare_queue("/", qdecl("q2", true), 1).ok());
  std::atomic<bool> done{false};
  r->flush_async([&](status st) {
    EXPECT_TRUE(st.ok());
    done = true;
  });
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(done.load());
  EXPECT_GE(r->durable_seq(), r->find_queue("/", "q2")->seq);
}

TEST_F(Persistence, ManyDeclaresAreBatchedAndSnapshotted) {
  {
    auto r = open(/*compact_min_bytes=*/16 << 10);
    for (int i = 0; i < 3000; ++i) {
      std::string q = "q" + std::to_string(i);
      ASSERT_TRUE(r->declare_queue("/", qdecl(q, true), 1).ok());
      ASSERT_TRUE(r->bind("/", qbind("amq.topic", q, "k." + std::to_string(i) + ".#")).ok());
      if (i % 3 == 0) {
        ASSERT_TRUE(r->delete_queue("/", q, 1).ok());
      }
      if (i % 500 == 0) {
        ASSERT_TRUE(r->flush().ok());
      }
    }
    ASSERT_TRUE(r->flush().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(meta() + "/routing.json"));
  // The log was emptied by the snapshots and holds at most what followed the last one.
  EXPECT_LE(std::filesystem::file_size(meta() + "/routing.log"), std::filesystem::file_size(meta() + "/routing.json"));
  auto r = open();
  EXPECT_EQ(r->list_queues("/").size(), 2000u);
  EXPECT_EQ(r->list_bindings("/").size(), 2000u);
  EXPECT_EQ(routed(*r, "amq.topic", "k.2999.x"), Names{"q2999"});
  EXPECT_EQ(routed(*r, "amq.topic", "k.3.x"), Names{});
}

TEST_F(Persistence, TornTailIsCut) {
  {
    auto r = open();
    ASSERT_TRUE(r->declare_queue("/", qdecl("kept", true), 1).ok());
    ASSERT_TRUE(r->flush().ok());
  }
  {
    std::ofstream f(meta() + "/routing.log", std::ios::app | std::ios::binary);
    f << "0badc0de {\"seq\": 99, \"op\": \"queue.ad";  // a crash mid-write: no newline
  }
  {
    auto r = open();
    ASSERT_TRUE(r);
    EXPECT_EQ(queue_names(*r), Names{"kept"});
    ASSERT_TRUE(r->declare_queue("/", qdecl("after", true), 1).ok());
    ASSERT_TRUE(r->flush().ok());
  }
  auto r = open();
  EXPECT_EQ(queue_names(*r), (Names{"after", "kept"}));
}

TEST_F(Persistence, CorruptionInTheMiddleIsAnError) {
  {
    auto r = open();
    ASSERT_TRUE(r->declare_queue("/", qdecl("a", true), 1).ok());
    ASSERT_TRUE(r->flush().ok());
  }
  std::string path = meta() + "/routing.log";
  std::string text;
  {
    std::ifstream f(path, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  ASSERT_GT(text.size(), 20u);
  text[12] ^= 0x20;  // flip a bit inside the first record: its CRC fails, later ones pass
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
  }
  auto r = try_open();
  EXPECT_EQ(r.code(), Errc::kCorrupt);
}

TEST_F(Persistence, ArbitraryBytesInNamesRoundTrip) {
  std::string odd("q\xff\xfe\x01", 4);
  {
    auto r = open();
    ASSERT_TRUE(r->declare_queue("/", qdecl(odd, true), 1).ok());
    ASSERT_TRUE(r->bind("/", qbind("amq.direct", odd, odd)).ok());
  }
  auto r = open();
  EXPECT_TRUE(r->find_queue("/", odd).ok());
  EXPECT_EQ(routed(*r, "amq.direct", odd), Names{odd});
}

TEST_F(Persistence, SnapshotAloneIsEnough) {
  {
    // With no snapshot yet and a 1-byte threshold, the first round writes
    // a snapshot of everything and empties the log.
    // (A long interval: no round before the flush() below.)
    auto r = open(/*compact_min_bytes=*/1, /*flush_interval_ms=*/60000);
    ASSERT_TRUE(r->declare_queue("/", qdecl("q", true), 1).ok());
    ASSERT_TRUE(r->declare_queue("/", qdecl("q2", true), 1).ok());
    ASSERT_TRUE(r->flush().ok());
  }
  EXPECT_EQ(std::filesystem::file_size(meta() + "/routing.log"), 0u);
  ASSERT_TRUE(std::filesystem::exists(meta() + "/routing.json"));
  std::filesystem::remove(meta() + "/routing.log");
  auto r = open();
  EXPECT_EQ(queue_names(*r), (Names{"q", "q2"}));
  EXPECT_TRUE(r->authenticate("guest", "guest").ok());
}

}  // namespace
}  // namespace wharf::broker::routing
