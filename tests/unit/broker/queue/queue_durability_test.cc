// What survives a restart or a crash, what is deleted from disk, and how
// much memory a backlog costs.
#include <gtest/gtest.h>

#include <algorithm>

#include "broker/queue/queue.h"
#include "queue_test_util.h"

namespace wharf::broker::queue {
namespace {

using namespace testing;

std::vector<std::string> numbered(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("m" + std::to_string(i));
  return out;
}

size_t count_files(const std::string& dir, const std::string& suffix) {
  auto names = storage::Env::posix()->list_dir(dir);
  if (!names.ok()) return 0;
  return size_t(std::count_if(names->begin(), names->end(), [&](const std::string& n) { return n.ends_with(suffix); }));
}

TEST(QueueRestart, RedeliversExactlyTheUnackedFlaggedRedelivered) {
  Harness h;
  {
    auto q = h.open();
    publish_all(*q, numbered(0, 10));
    Recorder r;
    ASSERT_TRUE(q->attach(consumer(r, 1, 6)).ok());
    ASSERT_EQ(r.got.size(), 6u);
    // Each ack lets one more in: m6, m7, m8 are delivered too.
    for (int i : {0, 1, 3}) ASSERT_TRUE(q->ack(SessionId(1), r.got[size_t(i)].tag, false).ok());
    ASSERT_EQ(r.got.size(), 9u);
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open();
  EXPECT_EQ(q->message_count(), 7u);
  Recorder r;
  ASSERT_TRUE(q->attach(consumer(r)).ok());
  EXPECT_EQ(r.bodies(), (std::vector<std::string>{"m2", "m4", "m5", "m6", "m7", "m8", "m9"}));
  for (size_t i = 0; i < r.got.size(); ++i) {
    EXPECT_EQ(r.got[i].redelivered, i < 6) << body_of(r.got[i]);  // delivered before the restart
  }
}

TEST(QueueRestart, KillDashNineKeepsAcksWrittenToThePageCache) {
  // No close(): the queue object just goes away, as in kill -9 (the page
  // cache survives, nothing was fsynced).
  Harness h;
  {
    auto q = h.open();
    publish_all(*q, numbered(0, 4));
    auto d = q->get(SessionId(1), false);
    ASSERT_TRUE(q->ack(SessionId(1), (*d)->tag, false).ok());
    auto d2 = q->get(SessionId(1), false);  // delivered, never acked
    ASSERT_TRUE(d2.ok());
  }
  auto q = h.open();
  auto first = q->get(SessionId(1), true);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(body_of(**first), "m1");
  EXPECT_TRUE((*first)->redelivered);
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"m2", "m3"}));
}

TEST(QueueRestart, PowerCutKeepsConfirmedMessagesAndSyncedAcks) {
  Harness h;
  storage::FaultInjectionEnv env(storage::Env::posix());
  h.env = &env;
  int confirmed = 0;
  {
    auto q = h.open();
    for (const auto& b : numbered(0, 6)) {
      ASSERT_TRUE(q->publish(msg(b), [&](status st) { confirmed += st.ok(); }).ok());
    }
    EXPECT_EQ(confirmed, 0);
    ASSERT_TRUE(flush_now(*q).ok());  // the group commit
    EXPECT_EQ(confirmed, 6);
    Recorder r;
    ASSERT_TRUE(q->attach(consumer(r, 1, 4)).ok());
    ASSERT_TRUE(q->ack(SessionId(1), r.got[1].tag, true).ok());  // m0, m1
    ASSERT_TRUE(flush_now(*q).ok());                              // the acks are synced too
    ASSERT_TRUE(q->ack(SessionId(1), r.got[2].tag, false).ok());  // m2: not synced
    for (const auto& b : numbered(6, 8)) {
      ASSERT_TRUE(q->publish(msg(b), [&](status st) { confirmed += st.ok(); }).ok());  // never confirmed
    }
  }
  EXPECT_EQ(confirmed, 6);
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  auto q = h.open();
  auto got = drain(*q);
  // Every confirmed message that was not acked before the last sync is back;
  // the unsynced ack of m2 may be lost (it is, here), the unconfirmed m6, m7
  // are gone, and nothing acked before the sync returns.
  EXPECT_EQ(got, (std::vector<std::string>{"m2", "m3", "m4", "m5"}));
  // New messages reuse the lost offsets and are delivered normally.
  publish_all(*q, {"after"});
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"after"}));
}

TEST(QueueRestart, AcksLeftOutOfAConfirmRoundAreSyncedByALaterOne) {
  // A round that publishers wait on syncs only the log (one fdatasync); the
  // acks it leaves out get a round of their own, asked for at once.
  Harness h;
  storage::FaultInjectionEnv env(storage::Env::posix());
  h.env = &env;
  std::vector<bool> requests;  // urgent?
  std::shared_ptr<Flushable> target;
  auto hooks = h.hooks();
  hooks.request_flush = [&](const std::shared_ptr<Flushable>& f, size_t, bool urgent) {
    target = f;
    requests.push_back(urgent);
  };
  {
    auto q = *Queue::open(h.dir, Harness::config(), hooks);
    publish_all(*q, {"a", "b", "c"});
    auto d = q->get(SessionId(1), false);
    ASSERT_TRUE(q->ack(SessionId(1), (*d)->tag, false).ok());
    ASSERT_TRUE(flush_now(*q).ok());  // syncs log and acks.log
    d = q->get(SessionId(1), false);
    ASSERT_TRUE(q->ack(SessionId(1), (*d)->tag, false).ok());
    int confirmed = 0;
    ASSERT_TRUE(q->publish(msg("d"), [&](status st) { confirmed += st.ok(); }).ok());
    requests.clear();
    ASSERT_TRUE(flush_now(*q).ok());  // carries a confirm: acks.log left out
    EXPECT_EQ(confirmed, 1);
    ASSERT_EQ(requests, std::vector<bool>{false});  // ... and a later round requested
    ASSERT_TRUE(flush_now(*target).ok());
  }
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  auto q = h.open();
  EXPECT_EQ(drain(*q), (std::vector<std::string>{"c", "d"}));
}

TEST(QueueRestart, AckStateBeyondALostLogTailIsDiscarded) {
  // The ack file can be durable while the log lost unsynced messages
  // (compaction syncs it on its own): the offsets it settled will be reused
  // and must not swallow new messages.
  Harness h;
  {
    auto q = h.open();
    publish_all(*q, numbered(0, 2));
    ASSERT_TRUE(q->close().ok());
  }
  {
    AckState st;
    auto s = AckStore::open(storage::Env::posix(), h.dir, &st);
    ASSERT_TRUE(s.ok());
    (*s)->settle(0, 0, 5);  // acks for m0, m1 and three messages the log no longer has
    (*s)->cursor(0, 5);
    ASSERT_TRUE((*s)->write_pending().ok());
  }
  for (int life = 0; life < 2; ++life) {
    auto q = h.open();
    if (life == 0) {
      EXPECT_EQ(q->message_count(), 0u);
      publish_all(*q, {"x", "y", "z"});  // offsets 2, 3, 4
      ASSERT_TRUE(q->close().ok());
    } else {
      EXPECT_EQ(drain(*q), (std::vector<std::string>{"x", "y", "z"}));
    }
  }
}

TEST(QueueRestart, MessagesRoundTripThroughTheLog) {
  Harness h;
  Message m = msg("body bytes");
  m.props.content_type = "text/plain";
  m.props.correlation_id = "c1";
  m.props.timestamp = 1234;
  m.headers.add("n", int64_t(42));
  m.headers.add("nested", List{{Value("a"), Value(true)}});
  {
    auto q = h.open();
    ASSERT_TRUE(q->publish(m).ok());
    ASSERT_TRUE(q->close().ok());
  }
  auto q = h.open();
  auto d = q->get(SessionId(1), true);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->message, m);
  EXPECT_EQ((*d)->enqueued_at_ms, h.clock);
}

TEST(QueueDisk, SegmentsAreDeletedOnceEverythingInThemIsAcked) {
  Harness h;
  auto cfg = Harness::config();
  cfg.log.segment_bytes = 4096;
  auto q = h.open(cfg);
  publish_all(*q, numbered(0, 300));
  std::string level0 = h.dir + "/p000";
  size_t segments = count_files(level0, ".log");
  EXPECT_GT(segments, 5u);
  uint64_t full = q->disk_bytes();
  Recorder r;
  auto c = q->attach(consumer(r, 1, 50));
  ASSERT_TRUE(c.ok());
  // Ack all but the first message: nothing can go, the first segment holds it.
  for (size_t i = 1; i < r.got.size(); ++i) ASSERT_TRUE(q->ack(SessionId(1), r.got[i].tag, false).ok());
  ASSERT_EQ(r.got.size(), 300u);  // each ack let the next one in
  EXPECT_EQ(count_files(level0, ".log"), segments);
  EXPECT_EQ(q->disk_bytes(), full);
  ASSERT_TRUE(q->ack(SessionId(1), r.got[0].tag, false).ok());
  EXPECT_EQ(count_files(level0, ".log"), 1u);  // only the active segment is left
  EXPECT_LT(q->disk_bytes(), 4096u);
  EXPECT_LE(q->tracked_entries(), 1u);
  // And a restart agrees that nothing is left.
  ASSERT_TRUE(q->close().ok());
  q = h.open(cfg);
  EXPECT_EQ(q->message_count(), 0u);
  EXPECT_EQ(drain(*q), std::vector<std::string>{});
}

TEST(QueueDisk, AFullyConsumedQueueGivesBackItsActiveSegmentToo) {
  Harness h;
  auto cfg = Harness::config();
  cfg.roll_consumed_bytes = 1000;
  auto q = h.open(cfg);
  publish_all(*q, numbered(0, 20));  // about 2 KiB, one segment
  EXPECT_GT(q->disk_bytes(), 1000u);
  EXPECT_EQ(drain(*q).size(), 20u);
  EXPECT_EQ(q->disk_bytes(), 0u);
  EXPECT_EQ(count_files(h.dir + "/p000", ".log"), 1u);  // a fresh, empty active segment
  publish_all(*q, {"later"});
  ASSERT_TRUE(q->close().ok());
  q = h.open(cfg);
  EXPECT_EQ(drain(*q), std::vector<std::string>{"later"});
}

TEST(QueueMemory, BookkeepingIsOUnackedNotOBacklog) {
  Harness h;
  auto cfg = Harness::config();
  cfg.log.segment_bytes = 1 << 20;
  auto q = h.open(cfg);
  constexpr int kBacklog = 200'000;
  Message m = msg(std::string(100, 'x'), std::nullopt, /*persistent=*/false);
  for (int i = 0; i < kBacklog; ++i) ASSERT_EQ(*q->publish(m), PublishResult::kAccepted);
  EXPECT_EQ(q->message_count(), uint64_t(kBacklog));
  EXPECT_EQ(q->tracked_entries(), 0u);  // a backlog costs no per-message memory
  EXPECT_LE(q->buffered_bytes(), cfg.read_window_bytes);

  // A consumer with prefetch 100 acking in order, with some requeues.
  size_t max_tracked = 0, received = 0;
  std::vector<DeliveryTag> pending;
  ConsumerOptions o;
  o.session = SessionId(1);
  o.prefetch = 100;
  o.deliver = [&](Delivery&& d) {
    ++received;
    pending.push_back(d.tag);
  };
  ASSERT_TRUE(q->attach(o).ok());
  while (!pending.empty()) {
    auto batch = std::move(pending);
    pending.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      bool requeue = (received % 1000) == 0 && i == 0;
      if (requeue) ASSERT_TRUE(q->reject(SessionId(1), batch[i], false, true).ok());
      else ASSERT_TRUE(q->ack(SessionId(1), batch[i], false).ok());
      max_tracked = std::max(max_tracked, q->tracked_entries());
    }
    EXPECT_LE(q->buffered_bytes(), cfg.read_window_bytes);
  }
  EXPECT_GE(received, size_t(kBacklog));
  EXPECT_EQ(q->message_count(), 0u);
  // Prefetch-many unacked deliveries plus a few settled ranges, nothing per message.
  EXPECT_LE(max_tracked, 110u);
  EXPECT_LE(q->tracked_entries(), 2u);
}

TEST(QueueMemory, RecoveringABacklogReadsNoMessagesIntoMemory) {
  Harness h;
  {
    auto q = h.open();
    for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(q->publish(msg("m", std::nullopt, false)).ok());
    for (int i = 0; i < 10; ++i) {
      auto d = q->get(SessionId(1), false);  // 10 unacked at the "crash"
      ASSERT_TRUE(d.ok());
    }
  }
  auto q = h.open();
  EXPECT_EQ(q->message_count(), 20'000u);
  EXPECT_EQ(q->tracked_entries(), 10u);  // the ten to redeliver
  EXPECT_EQ(q->buffered_bytes(), 0u);
}

}  // namespace
}  // namespace wharf::broker::queue
