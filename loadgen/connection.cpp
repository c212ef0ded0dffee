// Connection: the per-connection request/response cycle of the load generator.
#include "loadgen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
      socket_(worker.io()),
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

asio::ip::tcp::socket& Connection::socket() { return tls_ ? tls_->next_layer() : socket_; }

void Connection::start() { connect(); }

void Connection::connect() {
  if (worker_.stopping()) return;
  const RunShared& s = worker_.shared();
  connected_ = false;
  error_code ec;
  if (s.tls) {
    tls_ = std::make_shared<TlsStream>(worker_.io(), *s.tls);
    if (!s.sni.empty()) SSL_set_tlsext_host_name(tls_->native_handle(), s.sni.c_str());
  }
  auto& sock = socket();
  sock.open(s.endpoint.protocol(), ec);
  if (ec) {
    ++worker_.errors.connect;
    reconnect(100);
    return;
  }
  sock.set_option(asio::ip::tcp::no_delay(true), ec);
  sock.non_blocking(true, ec);
  const uint64_t gen = gen_;
  worker_.asio_begin();
  sock.async_connect(s.endpoint, [this, gen](const error_code& err) {
    worker_.asio_end();
    if (gen != gen_) return;
    if (err) {
      ++worker_.errors.connect;
      ++connect_failures_;
      const int delay = connect_failures_ <= 1 ? 0 : std::min(100, 1 << std::min(connect_failures_ - 2, 7));
      reconnect(delay);
      return;
    }
    if (tls_) {
      auto tls = tls_;
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
      return;
    }
    on_connected();
  });
}

void Connection::on_connected() {
  if (!tls_) {
    error_code ec;
    fd_ = socket_.release(ec);
    if (ec || fd_ < 0) {
      fd_ = -1;
      ++worker_.errors.connect;
      reconnect(10);
      return;
    }
    if (!worker_.ready().add(fd_, this)) {
      ++worker_.errors.connect;
      reconnect(10);
      return;
    }
  }
  connected_ = true;
  connect_failures_ = 0;
  worker_.progressed(now_ns());
  schedule_next();
}

void Connection::schedule_next() {
  if (worker_.stopping()) return;
  const RunShared& s = worker_.shared();
  if (s.conn_interval_ns > 0) {
    const int64_t now = now_ns();
    if (now < next_ns_) {
      timer_.expires_after(std::chrono::nanoseconds(next_ns_ - now));
      const uint64_t gen = gen_;
      worker_.asio_begin();
      timer_.async_wait([this, gen](const error_code& ec) {
        worker_.asio_end();
        if (ec || gen != gen_) return;
        send_request();
      });
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
  start_ns_ = now_ns();
  if (s.conn_interval_ns > 0) {
    intended_ns_ = next_ns_;
    next_ns_ += s.conn_interval_ns;
  } else {
    intended_ns_ = start_ns_;
  }
  write_some();
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
    const ssize_t n = ::send(fd_, request_.data() + written_, request_.size() - written_, MSG_NOSIGNAL);
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
    const ssize_t n = ::recv(fd_, buf_.get(), kBufSize, 0);
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
  if (tls_) {
    tls_->next_layer().close(ec);
    tls_.reset();
  } else {
    socket_.close(ec);
    if (fd_ >= 0) ::close(fd_);  // also leaves the ReadySet
    fd_ = -1;
    write_blocked_ = false;
  }
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
  timer_.expires_after(std::chrono::milliseconds(delay_ms));
  const uint64_t gen = gen_;
  worker_.asio_begin();
  timer_.async_wait([this, gen](const error_code& ec) {
    worker_.asio_end();
    if (ec || gen != gen_) return;
    connect();
  });
}

}  // namespace kperf::loadgen
