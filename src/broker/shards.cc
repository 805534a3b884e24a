#include "broker/shards.h"

#include <pthread.h>

#include <string>

namespace wharf::broker {

namespace {
thread_local ShardId t_current{~0u};
}

Shards::Shards(unsigned count) {
  if (count == 0) count = 1;
  for (unsigned i = 0; i < count; ++i) {
    ctx_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*ctx_.back()));
  }
}

Shards::~Shards() { stop(); }

ShardId Shards::current() { return t_current; }

void Shards::start() {
  for (unsigned i = 0; i < ctx_.size(); ++i) {
    threads_.emplace_back([this, i] {
      t_current = ShardId(i);
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
