#include "net/connection.h"

#include <sys/sendfile.h>
#include <sys/uio.h>
#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace wharf::net {

namespace {
constexpr int kMaxIov = 64;
}

Connection::Connection(asio::ip::tcp::socket socket, ConnectionLimits limits)
    : socket_(std::move(socket)), limits_(limits) {
  asio::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
}

Connection::~Connection() = default;

void Connection::start() { do_read(); }

void Connection::do_read() {
  if (closed_ || reading_) return;
  if (paused()) {
    // No read will be pending: hold ourselves until resumed or closed.
    keep_alive_ = shared_from_this();
    return;
  }
  // Make room: a block still referenced by the session (a frame in use) or
  // too small for what the session wants is replaced; leftover bytes move.
  size_t pending = end_ - begin_;
  size_t need = std::max(limits_.read_block_bytes, want_ > pending ? want_ : pending + 1);
  if (!block_ || block_.use_count() > 1 || block_->size() - begin_ < need) {
    auto fresh = std::make_shared<std::vector<uint8_t>>(std::max(need, limits_.read_block_bytes));
    if (pending) std::memcpy(fresh->data(), block_->data() + begin_, pending);
    block_ = std::move(fresh);
    begin_ = 0;
    end_ = pending;
  } else if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(block_->data() + end_, block_->size() - end_),
                          [self](const asio::error_code& ec, size_t n) { self->on_read(ec, n); });
  keep_alive_.reset();  // the pending read holds a reference now
}

void Connection::on_read(const asio::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
      WLOG_DEBUG("net", "read from {} failed: {}", peer_, ec.message());
    close();
    return;
  }
  end_ += n;
  deliver();
  do_read();
}

void Connection::deliver() {
  if (delivering_) return;
  delivering_ = true;
  while (!closed_ && !paused_by_session_ && begin_ < end_) {
    size_t want = 0;
    auto r = session_->on_data(block_, std::span<uint8_t>(block_->data() + begin_, end_ - begin_), &want);
    if (!r.ok()) {
      WLOG_WARN("net", "closing {}: {}", peer_, r.error().message);
      delivering_ = false;
      close();
      return;
    }
    want_ = want;
    if (*r == 0) break;
    begin_ += *r;
  }
  delivering_ = false;
}

void Connection::pause_reading() { paused_by_session_ = true; }

void Connection::resume_reading() {
  paused_by_session_ = false;
  if (closed_ || paused()) return;
  // Input already buffered may hold complete requests.
  deliver();
  do_read();
}

void Connection::send(OutBuffer&& out) {
  if (closed_) return;
  queued_bytes_ += out.size();
  for (auto& c : out.chunks()) {
    if (!c.is_file() && !out_.empty() && !out_.back().is_file() && out_.size() > 1 &&
        out_.back().mem.size() + c.mem.size() <= 16 * 1024) {
      // coalesce small writes into the last (not yet started) memory chunk
      out_.back().mem.insert(out_.back().mem.end(), c.mem.begin(), c.mem.end());
    } else {
      out_.push_back(std::move(c));
    }
  }
  out.clear();
  // Written at the end of this run of ready handlers, not now: everything
  // sent meanwhile (a batch of deliveries, many responses) goes out in one
  // writev instead of one system call per message.
  if (!flush_scheduled_ && !waiting_writable_) {
    flush_scheduled_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->flush_scheduled_ = false;
      self->flush_output();
    });
  }
  if (queued_bytes_ > limits_.max_queued_output_bytes) paused_by_output_ = true;
}

void Connection::flush_output() {
  if (closed_ || waiting_writable_) return;
  bool had_output = !out_.empty();
  int fd = socket_.native_handle();
  while (!out_.empty()) {
    auto& front = out_.front();
    ssize_t n;
    if (front.is_file()) {
      off_t pos = front.slice.pos + off_t(out_front_done_);
      n = ::sendfile(fd, front.slice.fd, &pos, front.slice.len - out_front_done_);
    } else {
      iovec iov[kMaxIov];
      int cnt = 0;
      size_t skip = out_front_done_;
      for (auto it = out_.begin(); it != out_.end() && cnt < kMaxIov && !it->is_file(); ++it) {
        iov[cnt].iov_base = it->mem.data() + skip;
        iov[cnt].iov_len = it->mem.size() - skip;
        skip = 0;
        ++cnt;
      }
      n = ::writev(fd, iov, cnt);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) { drain_pending_ = true; wait_writable(); return; }
      if (errno == EINTR) continue;
      WLOG_DEBUG("net", "write to {} failed: {}", peer_, std::strerror(errno));
      close();
      return;
    }
    if (n == 0 && front.is_file()) {  // file shorter than promised: a bug or truncation
      WLOG_ERROR("net", "sendfile to {} hit end of file early", peer_);
      close();
      return;
    }
    size_t left = size_t(n);
    queued_bytes_ -= left;
    while (left > 0 && !out_.empty()) {
      size_t rem = out_.front().size() - out_front_done_;
      if (left >= rem) { left -= rem; out_.pop_front(); out_front_done_ = 0; }
      else { out_front_done_ += left; left = 0; }
    }
  }
  maybe_resume();
  if (out_.empty() && close_after_flush_) { close(); return; }
  // Tell the session whenever its output is all written: it may have paused
  // producers of output (deliveries) when the queue was long, whether or
  // not the socket ever pushed back.
  if (out_.empty() && (drain_pending_ || had_output) && !closed_) {
    drain_pending_ = false;
    if (session_) session_->on_output_drained();  // may send (and so re-enter flush_output)
  }
}

void Connection::wait_writable() {
  waiting_writable_ = true;
  auto self = shared_from_this();
  socket_.async_wait(asio::ip::tcp::socket::wait_write, [self](const asio::error_code& ec) {
    self->waiting_writable_ = false;
    if (ec) { self->close(); return; }
    self->flush_output();
  });
}

void Connection::maybe_resume() {
  if (paused_by_output_ && queued_bytes_ <= limits_.max_queued_output_bytes / 2) {
    paused_by_output_ = false;
    if (!paused() && !closed_) { deliver(); do_read(); }
  }
}

void Connection::close_after_flush() {
  close_after_flush_ = true;
  if (out_.empty()) close();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  out_.clear();
  queued_bytes_ = 0;
  // Released last: it may hold the final reference to this connection.
  auto self = std::move(keep_alive_);
  if (session_) session_->on_close();
}

}  // namespace wharf::net
