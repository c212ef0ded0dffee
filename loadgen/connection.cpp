// Connection: the per-connection request/response cycle of the load generator.
#include "loadgen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include "loadgen/worker.hpp"

namespace kperf::loadgen {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr size_t kBufSize = 16 * 1024;
}

Connection::Connection(Worker& worker, int global_index)
    : worker_(worker),
      timer_(worker.io()),
      buf_(new char[kBufSize]) {
  const RunShared& s = worker.shared();
  scratch_.reserve(s.requests->max_size());
  if (s.conn_interval_ns > 0) {
    // Spread the connections' schedules evenly over one interval.
    next_ns_ = s.start_ns + s.conn_interval_ns * global_index / s.total_connections;
  }
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start() { connect(); }

void Connection::connect() {
  if (worker_.stopping()) return;
  const RunShared& s = worker_.shared();
  connected_ = false;
  if (!s.tls) {
    connect_plain();
    return;
  }
  error_code ec;
  tls_ = std::make_shared<TlsStream>(worker_.io(), *s.tls);
  if (!s.sni.empty()) SSL_set_tlsext_host_name(tls_->native_handle(), s.sni.c_str());
  auto& sock = tls_->next_layer();
  sock.open(s.endpoint.protocol(), ec);
  if (ec) {
    ++worker_.errors.connect;
    reconnect(100);
    return;
  }
  sock.set_option(asio::ip::tcp::no_delay(true), ec);
  sock.non_blocking(true, ec);
  const uint64_t gen = gen_;
  auto tls = tls_;
  sock.async_connect(s.endpoint, [this, gen, tls](const error_code& err) {
    if (gen != gen_) return;
    if (err) {
      connect_failed();
      return;
    }
    tls_->async_handshake(asio::ssl::stream_base::client, [this, gen, tls](const error_code& herr) {
      if (gen != gen_) return;
      if (herr) {
        ++worker_.errors.connect;
        ++connect_failures_;
        reconnect(std::min(100, 1 << std::min(connect_failures_, 7)));
        return;
      }
      on_connected();
    });
  });
}

void Connection::connect_plain() {
  const RunShared& s = worker_.shared();
  fd_ = ::socket(s.endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    ++worker_.errors.connect;
    reconnect(100);
    return;
  }
  const int one = 1;
  (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, s.endpoint.data(), static_cast<socklen_t>(s.endpoint.size())) != 0 &&
      errno != EINPROGRESS) {
    connect_failed();
    return;
  }
  // Connected or not yet: the ReadySet reports write space (or an error) either way.
  connecting_ = true;
  if (!worker_.ready().add(fd_, this, true)) {
    ++worker_.errors.connect;
    reconnect(10);
  }
}

void Connection::connect_failed() {
  ++worker_.errors.connect;
  ++connect_failures_;
  const int delay = connect_failures_ <= 1 ? 0 : std::min(100, 1 << std::min(connect_failures_ - 2, 7));
  reconnect(delay);
}

void Connection::on_connected() {
  connected_ = true;
  connect_failures_ = 0;
  worker_.progressed(now_ns());
  schedule_next();
}

void Connection::wait_until(int64_t when_ns, Pending what) {
  pending_ = what;
  if (!worker_.shared().tls) {
    worker_.ready().wake_at(when_ns, this, gen_);
    return;
  }
  timer_.expires_after(std::chrono::nanoseconds(when_ns - now_ns()));
  const uint64_t gen = gen_;
  timer_.async_wait([this, gen](const error_code& ec) {
    if (!ec) on_wake(gen);
  });
}

void Connection::on_wake(uint64_t token) {
  if (token != gen_) return;  // a delay of a connection closed since
  const Pending what = pending_;
  pending_ = Pending::kNone;
  if (what == Pending::kConnect) connect();
  if (what == Pending::kSend) send_request();
}

void Connection::schedule_next() {
  if (worker_.stopping()) return;
  const RunShared& s = worker_.shared();
  if (s.conn_interval_ns > 0) {
    const int64_t now = now_ns();
    if (now < next_ns_) {
      wait_until(next_ns_, Pending::kSend);
      return;
    }
  }
  send_request();
}

void Connection::send_request() {
  if (!worker_.take_request()) return;
  const RunShared& s = worker_.shared();
  request_ = s.requests->next(scratch_, worker_.rng());
  parser_.reset(s.requests->head());
  written_ = 0;
  active_ = true;
  if (s.conn_interval_ns > 0) {
    intended_ns_ = next_ns_;
    next_ns_ += s.conn_interval_ns;
  }
  if (tls_) {
    stamp_start();
    write_some();
  } else {
    worker_.defer_send(this, gen_);  // send_deferred stamps the start when it goes out
  }
}

void Connection::send_deferred(uint64_t gen) {
  if (gen != gen_ || !active_) return;
  stamp_start();
  write_some();
}

void Connection::stamp_start() {
  start_ns_ = now_ns();
  if (worker_.shared().conn_interval_ns == 0) intended_ns_ = start_ns_;  // closed loop: sent = intended
}

void Connection::write_some() {
  const uint64_t gen = gen_;
  if (tls_) {
    auto tls = tls_;
    asio::async_write(*tls_, asio::buffer(request_.data(), request_.size()),
                      [this, gen, tls](const error_code& ec, size_t) {
                        if (gen != gen_) return;
                        if (ec) {
                          ++worker_.errors.write;
                          fail_request();
                          reconnect();
                          return;
                        }
                        read_tls();
                      });
    return;
  }
  while (written_ < request_.size()) {
    // The system call itself: glibc's send() and recv() wrap it in thread-cancellation
    // enable/disable in a threaded process (1.5% of a worker's samples, of no use here).
    const ssize_t n = ::syscall(SYS_sendto, fd_, request_.data() + written_, request_.size() - written_,
                                MSG_NOSIGNAL, nullptr, 0);
    if (n > 0) {
      written_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      write_blocked_ = true;
      if (worker_.ready().want_write(fd_, this, true)) return;
      write_blocked_ = false;
      ++worker_.errors.write;
      fail_request();
      reconnect();
      return;
    }
    ++worker_.errors.write;
    fail_request();
    reconnect();
    return;
  }
  // The response is announced by the ReadySet (on_ready).
}

void Connection::on_ready(uint32_t events) {
  if (fd_ < 0) return;
  if (connecting_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    connecting_ = false;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0 || !worker_.ready().want_write(fd_, this, false)) {
      connect_failed();
      return;
    }
    on_connected();
    return;
  }
  if (write_blocked_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    write_blocked_ = false;
    (void)worker_.ready().want_write(fd_, this, false);  // at worst: spurious wake-ups
    const uint64_t gen = gen_;
    write_some();
    if (gen != gen_) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable();
}

void Connection::on_readable() {
  for (;;) {
    const ssize_t n = ::syscall(SYS_recvfrom, fd_, buf_.get(), kBufSize, 0, nullptr, nullptr);  // see write_some
    if (n > 0) {
      if (!on_bytes(buf_.get(), static_cast<size_t>(n))) return;
      if (static_cast<size_t>(n) < kBufSize) break;
      continue;
    }
    if (n == 0) {
      on_eof();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    ++worker_.errors.read;
    fail_request();
    reconnect();
    return;
  }
}

void Connection::read_tls() {
  const uint64_t gen = gen_;
  auto tls = tls_;
  tls_->async_read_some(asio::buffer(buf_.get(), kBufSize),
                        [this, gen, tls](const error_code& ec, size_t n) {
                          if (gen != gen_) return;
                          if (n > 0 && !on_bytes(buf_.get(), n)) return;
                          if (ec) {
                            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
                              on_eof();
                            } else {
                              ++worker_.errors.read;
                              fail_request();
                              reconnect();
                            }
                            return;
                          }
                          read_tls();
                        });
}

bool Connection::on_bytes(const char* data, size_t n) {
  worker_.bytes += n;
  if (!active_) {
    // Bytes nobody asked for (we never pipeline): a protocol error.
    ++worker_.errors.read;
    reconnect();
    return false;
  }
  size_t consumed = 0;
  const auto result = parser_.feed(data, n, consumed);
  if (result == ResponseParser::Result::kNeedMore) return true;
  if (result == ResponseParser::Result::kError || consumed != n) {
    ++worker_.errors.read;
    fail_request();
    reconnect();
    return false;
  }
  on_response(now_ns());
  if (parser_.keep_alive()) {
    schedule_next();
  } else {
    reconnect();
  }
  return false;
}

void Connection::on_eof() {
  if (active_) {
    if (parser_.finish_eof() == ResponseParser::Result::kComplete) {
      on_response(now_ns());
    } else {
      // The server closed with a request in flight: the request is lost, count it.
      ++worker_.errors.read;
      fail_request();
    }
  }
  reconnect();
}

void Connection::on_response(int64_t now) {
  active_ = false;
  ++worker_.completed;
  worker_.progressed(now);
  if (parser_.status() > 399) ++worker_.errors.status;
  const int64_t latency_ns = now - intended_ns_;
  worker_.latency.record(static_cast<uint64_t>(latency_ns > 0 ? latency_ns / 1000 : 0));
  if (worker_.service) {
    const int64_t service_ns = now - start_ns_;
    worker_.service->record(static_cast<uint64_t>(service_ns > 0 ? service_ns / 1000 : 0));
  }
  worker_.request_done();
}

void Connection::fail_request() {
  if (!active_) return;
  active_ = false;
  worker_.request_done();
}

void Connection::check_timeout(int64_t now) {
  if (!active_ || now - start_ns_ < worker_.shared().timeout_ns) return;
  ++worker_.errors.timeout;
  fail_request();
  reconnect();
}

void Connection::close() {
  ++gen_;
  error_code ec;
  timer_.cancel();
  pending_ = Pending::kNone;
  if (tls_) {
    tls_->next_layer().close(ec);
    tls_.reset();
  }
  if (fd_ >= 0) ::close(fd_);  // also leaves the ReadySet
  fd_ = -1;
  connecting_ = false;
  write_blocked_ = false;
  connected_ = false;
}

void Connection::reconnect(int delay_ms) {
  close();
  if (worker_.stopping()) return;
  ++worker_.reconnects;
  if (delay_ms <= 0) {
    connect();
    return;
  }
  wait_until(now_ns() + int64_t{delay_ms} * 1'000'000, Pending::kConnect);
}

}  // namespace kperf::loadgen
