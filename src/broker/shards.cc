#include "broker/shards.h"

#include <pthread.h>

#include <string>

namespace wharf::broker {

namespace {
thread_local ShardId t_current{~0u};
thread_local const Shards* t_owner = nullptr;
}

Shards::Shards(unsigned count) {
  if (count == 0) count = 1;
  for (unsigned i = 0; i < count; ++i) {
    ctx_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*ctx_.back()));
  }
  for (unsigned i = 0; i < count; ++i) {
    outbox_.push_back(std::make_unique<Outbox>());
    outbox_.back()->to.resize(count);
  }
}

bool Shards::owns_current_thread() const { return t_owner == this; }

void Shards::enqueue(ShardId from, ShardId target, Task&& t) {
  Outbox& ob = *outbox_[from.value];
  ob.to[target.value].push_back(std::move(t));
  if (ob.flush_scheduled) return;
  ob.flush_scheduled = true;
  asio::post(io(from), [this, from] { flush_outbox(from); });
}

void Shards::flush_outbox(ShardId from) {
  Outbox& ob = *outbox_[from.value];
  ob.flush_scheduled = false;
  for (unsigned t = 0; t < ob.to.size(); ++t) {
    if (ob.to[t].empty()) continue;
    std::vector<Task> batch;
    batch.swap(ob.to[t]);
    asio::post(io(ShardId(t)), [batch = std::move(batch)]() mutable {
      for (auto& task : batch) task();
    });
  }
}

Shards::~Shards() { stop(); }

ShardId Shards::current() { return t_current; }

void Shards::start() {
  for (unsigned i = 0; i < ctx_.size(); ++i) {
    threads_.emplace_back([this, i] {
      t_current = ShardId(i);
      t_owner = this;
      std::string name = "shard-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      ctx_[i]->run();
    });
  }
}

void Shards::stop() {
  guards_.clear();
  for (auto& c : ctx_) c->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace wharf::broker
