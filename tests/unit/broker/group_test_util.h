// Helpers for driving a GroupCoordinator on a real io_context in tests.
#pragma once

#include <asio.hpp>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace wharf::broker::group::testing {

// A fresh directory removed on destruction.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wharf-group-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Runs handlers until pred() holds or the timeout passes; returns pred().
inline bool run_until(asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    if (io.run_one_for(std::chrono::milliseconds(5)) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

// Runs handlers for the given time.
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  run_until(io, [&] { return std::chrono::steady_clock::now() >= end; }, d * 2);
}

// Completion slot for an asynchronous result.
template <class R>
struct Slot {
  std::shared_ptr<std::optional<R>> v = std::make_shared<std::optional<R>>();
  std::function<void(R)> cb() {
    return [v = v](R r) { *v = std::move(r); };
  }
  bool ready() const { return v->has_value(); }
  R& get() { return **v; }
};

}  // namespace wharf::broker::group::testing
