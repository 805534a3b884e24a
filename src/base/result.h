// result<T>: errors are values inside the broker (DESIGN.md). Exceptions are
// used only at start-up and config time.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "base/error.h"

namespace wharf {

// An error: a code the caller can branch on plus a human message for logs.
struct Error {
  Errc code = Errc::kUnknown;
  std::string message;
};

inline Error make_error(Errc code, std::string message = {}) {
  return Error{code, std::move(message)};
}

// Holds either a T or an Error. Accessing the wrong alternative asserts.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  result(Error error) : v_(std::move(error)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  Errc code() const { return ok() ? Errc::kOk : error().code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }
  Errc code() const { return ok_ ? Errc::kOk : err_.code; }

 private:
  Error err_;
  bool ok_ = true;
};

using status = result<void>;

}  // namespace wharf
