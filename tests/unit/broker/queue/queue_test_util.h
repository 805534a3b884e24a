// Helpers for queue engine tests: messages, a fake clock, recording
// consumers and dead-letter sinks, and a queue opener.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../../storage/test_util.h"
#include "broker/queue/queue.h"

namespace wharf::broker::queue::testing {

using storage::testing::TempDir;

inline Message msg(std::string body, std::optional<uint8_t> priority = std::nullopt, bool persistent = true) {
  Message m;
  m.exchange = "ex";
  m.routing_key = "rk";
  m.props.delivery_mode = persistent ? kDeliveryModePersistent : kDeliveryModeTransient;
  m.props.priority = priority;
  m.body = Body::copy_of(std::string_view(body));
  return m;
}

inline std::string body_of(const Delivery& d) { return std::string(d.message.body.view()); }

// Everything a test needs around one queue directory.
struct Harness {
  TempDir tmp;
  std::string dir = tmp.sub("q");
  int64_t clock = 1'700'000'000'000;
  std::vector<DeadLetter> dead;
  std::vector<int64_t> wakes;
  storage::Env* env = storage::Env::posix();
  std::deque<std::function<void()>>* deferred = nullptr;  // set to test hooks.defer

  QueueHooks hooks() {
    QueueHooks h;
    h.env = env;
    h.now_ms = [this] { return clock; };
    h.dead_letter = [this](DeadLetter&& d) { dead.push_back(std::move(d)); };
    h.wake_at = [this](int64_t at) { wakes.push_back(at); };
    if (deferred) h.defer = [q = deferred](std::function<void()> fn) { q->push_back(std::move(fn)); };
    return h;
  }

  static QueueConfig config(std::string name = "q1") {
    QueueConfig c;
    c.name = std::move(name);
    c.dead_letter_exchange = "dlx";
    return c;
  }

  std::shared_ptr<Queue> open(QueueConfig c = config()) {
    auto q = Queue::open(dir, std::move(c), hooks());
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
    return q.ok() ? *q : nullptr;
  }
};

// A consumer that records what it is given.
struct Recorder {
  std::vector<Delivery> got;
  std::vector<std::string> bodies() const {
    std::vector<std::string> out;
    for (const auto& d : got) out.push_back(body_of(d));
    return out;
  }
  DeliverFn fn() {
    return [this](Delivery&& d) { got.push_back(std::move(d)); };
  }
};

inline ConsumerOptions consumer(Recorder& r, uint64_t session = 1, uint32_t prefetch = 0) {
  ConsumerOptions o;
  o.session = SessionId(session);
  o.prefetch = prefetch;
  o.deliver = r.fn();
  return o;
}

inline void publish_all(Queue& q, const std::vector<std::string>& bodies) {
  for (const auto& b : bodies) {
    auto r = q.publish(msg(b));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(*r, PublishResult::kAccepted);
  }
}

// Drains a queue with basic.get (no_ack), returning the bodies in order.
inline std::vector<std::string> drain(Queue& q) {
  std::vector<std::string> out;
  for (;;) {
    auto d = q.get(SessionId(99), true);
    EXPECT_TRUE(d.ok());
    if (!d.ok() || !*d) break;
    out.push_back(body_of(**d));
  }
  return out;
}

}  // namespace wharf::broker::queue::testing
