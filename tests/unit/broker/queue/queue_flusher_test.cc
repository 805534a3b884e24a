// The queue wired as the broker wires it: deferred work posted to the
// shard's io_context, group commit through the shard's Flusher.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "broker/flusher.h"
#include "broker/queue/queue.h"
#include "queue_test_util.h"

namespace wharf::broker::queue {
namespace {

using namespace testing;

TEST(QueueWithFlusher, ConfirmsArriveAfterOneGroupCommitAndDeliveriesAfterTheTurn) {
  TempDir tmp;
  asio::io_context io;
  storage::FaultInjectionEnv env(storage::Env::posix());
  Flusher flusher(io, /*interval_ms=*/100, /*flush_bytes=*/1 << 20);
  QueueHooks hooks;
  hooks.env = &env;
  hooks.defer = [&io](std::function<void()> fn) { asio::post(io, std::move(fn)); };
  hooks.request_flush = [&flusher](const std::shared_ptr<Flushable>& f, size_t bytes, bool urgent) {
    flusher.dirty(f, bytes, urgent);
  };
  auto q = Queue::open(tmp.sub("q"), Harness::config(), hooks);
  ASSERT_TRUE(q.ok());
  Recorder r;
  ASSERT_TRUE((*q)->attach(consumer(r)).ok());
  int confirmed = 0;
  uint64_t syncs_before = env.sync_count();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*q)->publish(msg("m" + std::to_string(i)), [&](status st) { confirmed += st.ok(); }).ok());
  }
  EXPECT_EQ(confirmed, 0);
  EXPECT_TRUE(r.got.empty());  // delivered at the end of the turn, not inside publish
  for (int spins = 0; spins < 500 && (confirmed < 50 || r.got.size() < 50); ++spins) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  EXPECT_EQ(confirmed, 50);
  EXPECT_EQ(r.got.size(), 50u);
  // Group commit: far fewer fdatasyncs than messages.
  EXPECT_LT(env.sync_count() - syncs_before, 10u);
  // Acks reach the disk through the same rounds.
  ASSERT_TRUE((*q)->ack(SessionId(1), DeliveryTag(0), true).ok());
  for (int spins = 0; spins < 50; ++spins) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  flusher.stop();
  q->reset();  // no close(): only what was synced counts
  ASSERT_TRUE(env.drop_unsynced_data().ok());
  Harness h;
  h.env = &env;
  h.dir = tmp.sub("q");
  auto again = h.open();
  EXPECT_EQ(again->message_count(), 0u);  // every ack was synced within the interval
}

}  // namespace
}  // namespace wharf::broker::queue
