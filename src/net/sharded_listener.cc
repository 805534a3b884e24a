#include "net/sharded_listener.h"

#include <future>

namespace wharf::net {

ShardedListener::ShardedListener(unsigned loops, Loop loop, MakeSession make, ConnectionLimits limits)
    : loops_(loops), loop_(std::move(loop)), make_(std::move(make)), limits_(limits) {}

ShardedListener::~ShardedListener() { stop(); }

status ShardedListener::start(const asio::ip::tcp::endpoint& ep) {
  std::promise<status> done;
  auto fut = done.get_future();
  asio::post(loop_(0), [&] {
    listener_ = std::make_unique<Listener>(loop_(0), [this](int fd, asio::ip::tcp proto) {
      unsigned target = next_++ % loops_;
      asio::post(loop_(target), [this, fd, proto, target] {
        adopt_socket(loop_(target), fd, proto, limits_,
                     [this, target](const std::shared_ptr<Connection>& c) { return make_(target, c); });
      });
    });
    auto st = listener_->listen(ep);
    port_ = listener_->port();
    if (!st.ok()) listener_.reset();  // nothing to stop later (the loops may be gone by then)
    done.set_value(st);
  });
  return fut.get();
}

void ShardedListener::stop() {
  if (!listener_) return;
  std::promise<void> done;
  asio::post(loop_(0), [&] {
    listener_->stop();
    listener_.reset();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace wharf::net
