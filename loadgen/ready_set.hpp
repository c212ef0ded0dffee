// A worker's readiness set for its plain-TCP connections: one edge-triggered epoll set,
// either waited on by the worker's io_context (driven mode) or waited on directly by
// the worker's loop, which then polls the io_context while it has work (direct mode: the
// closed-loop hot path, no extra syscalls per wake-up). Each socket is registered once
// per connection (not re-armed per request), so a request costs one send and one recv.
#pragma once

#include <cstdint>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace kperf::loadgen {

class ReadySet {
 public:
  struct Handler {
    virtual void on_ready(uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  // direct = true: the owner calls wait() itself; otherwise the io_context does.
  ReadySet(boost::asio::io_context& io, bool direct);
  ~ReadySet();
  ReadySet(const ReadySet&) = delete;
  ReadySet& operator=(const ReadySet&) = delete;

  // Watches fd for input, hang-up and errors (edge-triggered). Closing fd removes it.
  // False (errno set) when epoll refuses.
  bool add(int fd, Handler* handler);
  // Also reports (or stops reporting) write space, for a send that would block.
  bool want_write(int fd, Handler* handler, bool on);
  // Direct mode: waits up to timeout_ms for ready sockets and dispatches them; returns
  // how many were ready.
  int wait(int timeout_ms);

 private:
  void arm();
  void dispatch();

  int epfd_ = -1;
  boost::asio::posix::stream_descriptor desc_;
  bool armed_ = false;
  bool direct_ = false;
};

}  // namespace kperf::loadgen
