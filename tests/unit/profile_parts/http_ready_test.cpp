// poll_http_ready, the gateways' one readiness poll, against a loopback listener: ready
// at the first 200, the last answer or error when time is up, and a failing check ends
// the wait before any GET.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kperf/gateway/http_ready.hpp"

namespace kperf {
namespace {

using std::chrono::milliseconds;

// Answers one connection after another with the given statuses, the last one forever.
class StatusServer {
 public:
  explicit StatusServer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StatusServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int answered() const { return answered_; }

 private:
  void serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      const int status = statuses_[std::min<size_t>(static_cast<size_t>(answered_), statuses_.size() - 1)];
      const std::string resp =
          "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      if (::write(c, resp.data(), resp.size()) < 0) {
        // the client gave up; the next one is served
      }
      ++answered_;
      ::close(c);
    }
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> answered_{0};
  std::thread thread_;
};

TEST(HttpReady, ReadyAtTheFirst200) {
  StatusServer server({503, 503, 200});
  int checks = 0;
  const auto last = poll_http_ready(server.port(), "/status", {milliseconds(5000), milliseconds(1000), milliseconds(5)},
                                    [&] { ++checks; });
  EXPECT_FALSE(last.has_value());
  EXPECT_EQ(server.answered(), 3);
  EXPECT_EQ(checks, 3);  // before each GET
}

TEST(HttpReady, TimeUpGivesTheLastAnswer) {
  StatusServer server({503});
  const auto start = std::chrono::steady_clock::now();
  const auto last =
      poll_http_ready(server.port(), "/status", {milliseconds(300), milliseconds(1000), milliseconds(20)}, {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, 503);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_GE(server.answered(), 2);
}

TEST(HttpReady, NoListenerGivesTheClientsError) {
  int port = 0;
  {
    StatusServer gone({200});  // a port that was free a moment ago, closed now
    port = gone.port();
  }
  const auto last = poll_http_ready(port, "/status", {milliseconds(100), milliseconds(500), milliseconds(20)}, {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, 0);
  EXPECT_FALSE(last->error.empty());
}

TEST(HttpReady, AFailingCheckEndsTheWaitBeforeAnyGet) {
  StatusServer server({200});
  EXPECT_THROW(poll_http_ready(server.port(), "/status", {milliseconds(5000), milliseconds(1000), milliseconds(5)},
                               [] { throw std::runtime_error("server exited"); }),
               std::runtime_error);
  EXPECT_EQ(server.answered(), 0);
}

}  // namespace
}  // namespace kperf
