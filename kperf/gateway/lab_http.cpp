// The lab's blocking loopback HTTP/1.1 client: connect, send one request, read until
// the server closes, parse status, headers and a (possibly chunked) body.
#include "kperf/gateway/lab_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <strings.h>

#include <fmt/core.h>

#include "common/unique_fd.hpp"

namespace kperf {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

[[noreturn]] void fail(int port, const std::string& what) {
  throw std::runtime_error(fmt::format("http://127.0.0.1:{}: {}", port, what));
}

void wait_for(int port, int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int ms = remaining_ms(deadline);
    if (ms == 0) fail(port, "timed out");
    int n = ::poll(&p, 1, ms);
    if (n > 0) return;
    if (n < 0 && errno != EINTR) fail(port, fmt::format("poll: {}", std::strerror(errno)));
  }
}

std::string dechunk(int port, std::string_view in) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) fail(port, "truncated chunked body");
    size_t size = 0;
    try {
      size = std::stoul(std::string(in.substr(pos, eol - pos)), nullptr, 16);
    } catch (const std::exception&) {
      fail(port, "bad chunk size");
    }
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size > in.size()) fail(port, "truncated chunk");
    out.append(in.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

size_t HttpResponse::header_count(std::string_view name) const {
  size_t n = 0;
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) ++n;
  }
  return n;
}

HttpResponse http_request(int port, std::string_view method, std::string_view target,
                          const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const common::UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) fail(port, fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS) fail(port, fmt::format("connect: {}", std::strerror(errno)));
    wait_for(port, s.get(), POLLOUT, deadline);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) fail(port, fmt::format("connect: {}", std::strerror(err)));
  }
  std::string req = fmt::format("{} {} HTTP/1.1\r\n", method, target);
  bool has_host = false;
  for (const auto& [k, v] : headers) {
    if (::strcasecmp(k.c_str(), "host") == 0) has_host = true;
    req += fmt::format("{}: {}\r\n", k, v);
  }
  if (!has_host) req += fmt::format("Host: 127.0.0.1:{}\r\n", port);
  req += "Connection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(s.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      wait_for(port, s.get(), POLLOUT, deadline);
    } else {
      fail(port, fmt::format("send: {}", std::strerror(errno)));
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > (64u << 20)) fail(port, "response larger than 64 MiB");
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      wait_for(port, s.get(), POLLIN, deadline);
    } else if (errno == ECONNRESET && !raw.empty()) {
      break;
    } else {
      fail(port, fmt::format("recv: {}", std::strerror(errno)));
    }
  }
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) fail(port, raw.empty() ? "empty response" : "truncated response head");
  HttpResponse r;
  std::string_view head(raw.data(), head_end);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12) {
    fail(port, fmt::format("bad status line '{}'", status_line));
  }
  r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    pos = e + 2;
  }
  std::string_view body(raw.data() + head_end + 4, raw.size() - head_end - 4);
  auto te = r.header("Transfer-Encoding");
  if (te && ::strcasecmp(te->c_str(), "chunked") == 0) {
    r.body = dechunk(port, body);
  } else {
    r.body = std::string(body);
  }
  return r;
}

}  // namespace kperf
