// One keep-alive HTTP/1.1 connection of a worker: connect (and TLS handshake), send a
// pre-built request, parse the response, record its latency, repeat; reconnects when the
// server closes, on errors and on timeouts. Plain TCP lives in the worker's ReadySet
// (non-blocking connect, then one send and one recv per request; delays are the set's
// wake-ups); TLS lives in Asio (ssl::stream, steady_timer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "loadgen/ready_set.hpp"
#include "loadgen/response_parser.hpp"

namespace kperf::loadgen {

class Worker;

class Connection final : public ReadySet::Handler {
 public:
  Connection(Worker& worker, int global_index);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Called by the worker's tick: ends a request older than the timeout.
  void check_timeout(int64_t now);
  bool request_active() const { return active_; }
  void on_ready(uint32_t events) override;
  void on_wake(uint64_t token) override;
  // Plain TCP: sends the request prepared by send_request (see Worker::defer_send).
  void send_deferred(uint64_t gen);

 private:
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // What a wake-up (a delay's end) does.
  enum class Pending { kNone, kConnect, kSend };

  void connect();
  void connect_plain();
  void connect_failed();
  void on_connected();
  // Runs `what` at when_ns (ReadySet wake-up for plain TCP, Asio timer for TLS).
  void wait_until(int64_t when_ns, Pending what);
  void schedule_next();
  void send_request();
  // The request leaves now: its start time (and, without -R, its intended time).
  void stamp_start();
  void write_some();
  void on_readable();
  void read_tls();
  // Feeds received bytes to the parser: true while the current response needs more
  // bytes; false once the connection has moved on (next request or reconnect).
  bool on_bytes(const char* data, size_t n);
  void on_eof();
  void on_response(int64_t now);
  void fail_request();
  // Closes the socket and connects again (after `delay_ms`); counts a reconnect.
  void reconnect(int delay_ms = 0);
  void close();

  Worker& worker_;
  int fd_ = -1;  // plain TCP (owned)
  bool connecting_ = false;
  bool write_blocked_ = false;
  Pending pending_ = Pending::kNone;
  std::shared_ptr<TlsStream> tls_;
  boost::asio::steady_timer timer_;  // TLS delays
  ResponseParser parser_;
  std::unique_ptr<char[]> buf_;
  std::string scratch_;
  std::string_view request_;
  size_t written_ = 0;
  uint64_t gen_ = 0;  // incremented on close: stale handlers compare and return
  bool active_ = false;  // a request is in flight
  bool connected_ = false;
  int connect_failures_ = 0;
  int64_t start_ns_ = 0;     // actual send time
  int64_t intended_ns_ = 0;  // rate mode: scheduled send time
  int64_t next_ns_ = 0;      // rate mode: next scheduled send time
};

}  // namespace kperf::loadgen
