// Shards: one thread per core, each running its own asio::io_context.
//
// Every partition, group and connection is owned by exactly one shard and
// touched only on that shard's thread. Work for another shard is posted to its
// io_context (message passing). Posts from one shard to another keep FIFO
// order, which the produce path relies on to keep a connection's appends to
// one partition in order, and the AMQP front end to keep a channel's
// publishes, acks and deliveries in order.
//
// Batching: a post from a shard thread to another shard goes into the
// sender's outbox for that shard; the outbox is handed over as one task at
// the end of the sender's current run of ready handlers (a flush task the
// first post schedules on the sender). One wake-up of the target then
// carries many messages, which is what makes per-message cross-shard work
// (a delivery, a publish) cheap. Order is kept because every post from X to
// Y goes through the same outbox. Posts from other threads (main) go
// directly.
#pragma once

#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "base/ids.h"

namespace wharf::broker {

class Shards {
 public:
  explicit Shards(unsigned count);
  ~Shards();
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  unsigned count() const { return unsigned(ctx_.size()); }
  asio::io_context& io(ShardId s) { return *ctx_[s.value]; }

  // Starts one thread per shard. Shard 0 runs on a new thread too.
  void start();
  // Stops every io_context and joins the threads. Pending posts are dropped.
  void stop();

  // The shard whose thread is calling, or ShardId(~0) off shard threads.
  static ShardId current();
  static bool on(ShardId s) { return current() == s; }

  template <class F>
  void post(ShardId target, F&& f) {
    ShardId from = current();
    if (from == target || !owns_current_thread()) {
      asio::post(io(target), std::forward<F>(f));
      return;
    }
    enqueue(from, target, Task(std::forward<F>(f)));
  }

  // Runs `f` now if the caller is on `target`, else posts it there.
  template <class F>
  void run_at(ShardId target, F&& f) {
    if (on(target)) f(); else post(target, std::forward<F>(f));
  }

  // Runs `fn` on `target` and waits for its result. For the main thread at
  // start-up and shut-down; never from a shard thread (it would wait on itself
  // or deadlock against a shard waiting back).
  template <class F>
  auto run_blocking(ShardId target, F fn) -> decltype(fn()) {
    std::promise<decltype(fn())> p;
    auto fut = p.get_future();
    asio::post(io(target), [&] { p.set_value(fn()); });
    return fut.get();
  }

  // Runs `work` on `target`, then `then(result)` back on the calling shard.
  // REQUIRES: called on a shard thread.
  template <class Work, class Then>
  void call(ShardId target, Work work, Then then) {
    ShardId origin = current();
    post(target, [this, origin, work = std::move(work), then = std::move(then)]() mutable {
      auto r = work();
      post(origin, [then = std::move(then), r = std::move(r)]() mutable { then(std::move(r)); });
    });
  }

  // Like call(), for work that finishes later: `work(done)` runs on `target`
  // and calls done(result) (on target's thread) whenever it completes.
  template <class R, class Work, class Then>
  void call_async(ShardId target, Work work, Then then) {
    ShardId origin = current();
    run_at(target, [this, origin, work = std::move(work), then = std::move(then)]() mutable {
      work([this, origin, then = std::move(then)](R r) mutable {
        run_at(origin, [then = std::move(then), r = std::move(r)]() mutable { then(std::move(r)); });
      });
    });
  }

 private:
  // A move-only type-erased callable (std::function needs copyable ones).
  class Task {
   public:
    template <class F>
    explicit Task(F&& f) : impl_(new Impl<std::decay_t<F>>(std::forward<F>(f))) {}
    void operator()() { impl_->call(); }

   private:
    struct Base {
      virtual ~Base() = default;
      virtual void call() = 0;
    };
    template <class F>
    struct Impl : Base {
      explicit Impl(F&& f) : fn(std::move(f)) {}
      explicit Impl(const F& f) : fn(f) {}
      void call() override { fn(); }
      F fn;
    };
    std::unique_ptr<Base> impl_;
  };
  struct Outbox {
    std::vector<std::vector<Task>> to;  // index = target shard; touched only by the owning shard
    bool flush_scheduled = false;
  };

  bool owns_current_thread() const;
  void enqueue(ShardId from, ShardId target, Task&& t);
  void flush_outbox(ShardId from);

  std::vector<std::unique_ptr<Outbox>> outbox_;  // index = sending shard
  std::vector<std::unique_ptr<asio::io_context>> ctx_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace wharf::broker
