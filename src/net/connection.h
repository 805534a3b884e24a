// Connection: one accepted TCP socket on one shard thread.
//
// Input: reads into reference-counted blocks and hands them to the Session.
// Output: an ordered queue of OutBuffers; memory chunks are written with
// writev() and file slices with sendfile(), so stored record bytes never pass
// through user space. Writes are attempted immediately and continue when the
// socket becomes writable.
//
// Backpressure: the session pauses reading (e.g. too many requests in
// flight); reading also pauses while more than kMaxQueuedBytes wait to be sent.
//
// Lifetime: owned by shared_ptr. While open, a pending read or write-wait
// holds a reference; while reading is paused and nothing is pending, the
// connection holds itself (keep_alive_) so that backpressure never destroys
// an open connection. close() drops that self-reference.
// Thread rules: all methods on the owning shard's thread.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "base/out_buffer.h"
#include "net/session.h"

namespace wharf::net {

struct ConnectionLimits {
  size_t read_block_bytes = 64 * 1024;       // default size of a receive block
  size_t max_queued_output_bytes = 64 << 20; // pause reading past this
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, ConnectionLimits limits);
  ~Connection();

  void set_session(std::unique_ptr<Session> s) { session_ = std::move(s); }
  void start();

  // Queues bytes to send; sends what the socket takes right away.
  void send(OutBuffer&& out);

  // Stops reading until resume_reading().
  void pause_reading();
  void resume_reading();

  // Closes the socket; on_close() is called once. Queued output is dropped.
  void close();
  // Closes after all queued output has been written.
  void close_after_flush();

  bool closed() const { return closed_; }
  // Output accepted by send() and not yet written to the socket.
  size_t queued_bytes() const { return queued_bytes_; }
  // True while reading is paused (by the session or by queued output).
  bool reading_paused() const { return paused(); }
  const std::string& peer() const { return peer_; }
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  void do_read();
  void on_read(const asio::error_code& ec, size_t n);
  void deliver();
  void flush_output();
  void wait_writable();
  void maybe_resume();

  asio::ip::tcp::socket socket_;
  ConnectionLimits limits_;
  std::unique_ptr<Session> session_;
  std::string peer_;

  Block block_;
  size_t begin_ = 0, end_ = 0;  // unconsumed input is block_[begin_, end_)
  size_t want_ = 0;
  bool reading_ = false, closed_ = false;
  bool paused_by_session_ = false;  // the session asked to stop reading
  bool paused_by_output_ = false;   // too many bytes queued to send
  bool paused() const { return paused_by_session_ || paused_by_output_; }
  bool close_after_flush_ = false;
  bool flush_scheduled_ = false;  // a flush_output() is posted (see send())
  bool delivering_ = false;  // guards deliver() against re-entry via send()

  std::deque<OutBuffer::Chunk> out_;
  size_t out_front_done_ = 0;  // bytes of out_.front() already written
  size_t queued_bytes_ = 0;
  bool waiting_writable_ = false;
  bool drain_pending_ = false;  // output had to wait for the socket: tell the session when it is all written
  std::shared_ptr<Connection> keep_alive_;  // set only while open, paused and idle
};

}  // namespace wharf::net
