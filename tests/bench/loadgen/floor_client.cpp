// The floor of a closed-loop HTTP/1.1 keep-alive load generator: a client that does
// nothing but the loop itself (one fixed GET per connection, read the response to its
// Content-Length, send the next), with no latency clock, no statistics, no errors
// handled beyond stopping. scripts/bench/loadgen-vs-wrk runs it beside wrk and
// `kperf load` to show how much of a generator's CPU per request is the kernel's work
// that the loop itself costs (on loopback its send also runs the server's TCP receive),
// i.e. how far below wrk a generator of either design can go. Two loops:
//   epoll   edge-triggered epoll; per request one send and one recv, the sends of one
//           wake-up after all its receives (kperf load's design)
//   uring   io_uring: a multishot recv per connection into a provided-buffer ring, the
//           sends of one wake-up submitted together with the wait, registered files and
//           ring fd (no epoll, no per-request system call)
// Usage: floor_client epoll|uring PORT CONNECTIONS SECONDS   (to 127.0.0.1 only)
// Prints wrk's "N requests in Xs" and "Requests/sec:" lines.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "floor_client: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

// The response being read on one connection: header bytes until the blank line, then
// the body's remaining length.
struct Response {
  std::string head;
  size_t body_left = 0;
  bool in_body = false;

  // Consumes n bytes; true when a whole response has been read (extra bytes: none on
  // a closed loop, the server answers one request at a time).
  bool feed(const char* data, size_t n) {
    if (in_body) {
      body_left -= std::min(body_left, n);
      return body_left == 0 && finish();
    }
    head.append(data, n);
    const size_t end = head.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const size_t cl = head.find("Content-Length: ");
    const size_t len = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    const size_t have = head.size() - (end + 4);
    body_left = len - std::min(len, have);
    in_body = true;
    return body_left == 0 && finish();
  }
  bool finish() {
    head.clear();
    in_body = false;
    return true;
  }
};

struct Run {
  std::string request;
  std::vector<int> fds;
  std::vector<Response> responses;
  int64_t deadline = 0;
  uint64_t done = 0;
  uint64_t bytes = 0;

  // True once the deadline has passed (send no more requests); gives up when the
  // server has not answered the last ones 2 s after it.
  bool past_deadline() const {
    const int64_t now = now_ns();
    if (now >= deadline + 2000000000LL) die("the server stopped answering", ETIMEDOUT);
    return now >= deadline;
  }
};

void connect_all(Run& run, int port, int conns) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < conns; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket", errno);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("connect", errno);
    run.fds.push_back(fd);
  }
  run.responses.resize(run.fds.size());
}

void epoll_loop(Run& run) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", errno);
  for (size_t i = 0; i < run.fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, run.fds[i], &ev) != 0) die("epoll_ctl", errno);
    if (send(run.fds[i], run.request.data(), run.request.size(), MSG_NOSIGNAL) < 0) die("send", errno);
  }
  size_t inflight = run.fds.size();
  bool stopping = false;
  std::vector<epoll_event> events(run.fds.size());
  std::vector<size_t> to_send;
  char buf[16384];
  while (inflight > 0) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) die("epoll_wait", errno);
    stopping = run.past_deadline();
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      const ssize_t got = recv(run.fds[i], buf, sizeof buf, 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        die("recv", got == 0 ? ECONNRESET : errno);
      }
      run.bytes += static_cast<uint64_t>(got);
      if (!run.responses[i].feed(buf, static_cast<size_t>(got))) continue;
      ++run.done;
      if (stopping) {
        --inflight;
        continue;
      }
      to_send.push_back(i);
    }
    for (const size_t i : to_send)
      if (send(run.fds[i], run.request.data(), run.request.size(), MSG_NOSIGNAL) < 0) die("send", errno);
    to_send.clear();
  }
  close(ep);
}

void uring_loop(Run& run) {
  constexpr unsigned kBufs = 256, kBufSize = 4096;
  constexpr uint64_t kSendTag = uint64_t{1} << 32;
  io_uring ring{};
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (const int r = io_uring_queue_init_params(1024, &ring, &params); r < 0) die("io_uring_queue_init", -r);
  if (const int r = io_uring_register_files(&ring, run.fds.data(), static_cast<unsigned>(run.fds.size())); r < 0)
    die("io_uring_register_files", -r);
  if (const int r = io_uring_register_ring_fd(&ring); r < 0) die("io_uring_register_ring_fd", -r);
  // The provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring): page-aligned.
  void* ring_mem = nullptr;
  if (posix_memalign(&ring_mem, 4096, kBufs * sizeof(io_uring_buf)) != 0) die("posix_memalign", ENOMEM);
  auto* br = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kBufs;
  reg.bgid = 0;
  if (const int r = io_uring_register_buf_ring(&ring, &reg, 0); r < 0) die("io_uring_register_buf_ring", -r);
  std::vector<char> mem(size_t{kBufs} * kBufSize);
  for (unsigned b = 0; b < kBufs; ++b)
    io_uring_buf_ring_add(br, &mem[size_t{b} * kBufSize], kBufSize, static_cast<uint16_t>(b),
                          io_uring_buf_ring_mask(kBufs), static_cast<int>(b));
  io_uring_buf_ring_advance(br, kBufs);

  auto sqe = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    if (s == nullptr) die("io_uring_get_sqe", EBUSY);
    return s;
  };
  auto arm_recv = [&](size_t i) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, static_cast<int>(i), nullptr, 0, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, i);
  };
  auto send_request = [&](size_t i) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, static_cast<int>(i), run.request.data(), run.request.size(), MSG_NOSIGNAL);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;  // a completion only on failure
    io_uring_sqe_set_data64(s, kSendTag | i);
  };
  for (size_t i = 0; i < run.fds.size(); ++i) {
    arm_recv(i);
    send_request(i);
  }
  size_t inflight = run.fds.size();
  bool stopping = false;
  while (inflight > 0) {
    __kernel_timespec one_second{1, 0};
    io_uring_cqe* first = nullptr;
    const int r = io_uring_submit_and_wait_timeout(&ring, &first, 1, &one_second, nullptr);
    if (r < 0 && r != -ETIME && r != -EINTR) die("io_uring_submit_and_wait", -r);
    stopping = run.past_deadline();
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const uint64_t tag = io_uring_cqe_get_data64(cqe);
      if (tag & kSendTag) die("send", -cqe->res);
      const size_t i = tag;
      if (cqe->res == -ENOBUFS) {  // the buffer ring ran dry: the multishot recv ended
        arm_recv(i);
        continue;
      }
      if (cqe->res <= 0) die("recv", cqe->res == 0 ? ECONNRESET : -cqe->res);
      const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      char* data = &mem[size_t{bid} * kBufSize];
      run.bytes += static_cast<uint64_t>(cqe->res);
      const bool whole = run.responses[i].feed(data, static_cast<size_t>(cqe->res));
      io_uring_buf_ring_add(br, data, kBufSize, static_cast<uint16_t>(bid), io_uring_buf_ring_mask(kBufs), 0);
      io_uring_buf_ring_advance(br, 1);
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(i);
      if (!whole) continue;
      ++run.done;
      if (stopping) {
        --inflight;
        continue;
      }
      send_request(i);
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
  std::free(ring_mem);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: floor_client epoll|uring PORT CONNECTIONS SECONDS\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  const int port = std::atoi(argv[2]);
  const int conns = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  if ((mode != "epoll" && mode != "uring") || port <= 0 || port > 65535 || conns <= 0 || conns > 1000 ||
      !(seconds > 0 && seconds <= 60)) {
    std::fprintf(stderr, "floor_client: bad arguments (mode epoll|uring, port 1-65535, 1-1000 connections, 0-60 s)\n");
    return 2;
  }
  Run run;
  run.request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
  connect_all(run, port, conns);
  const int64_t start = now_ns();
  run.deadline = start + static_cast<int64_t>(seconds * 1e9);
  if (mode == "epoll") {
    epoll_loop(run);
  } else {
    uring_loop(run);
  }
  const double elapsed = static_cast<double>(now_ns() - start) / 1e9;
  std::printf("  %llu requests in %.2fs, %llu bytes read\nRequests/sec: %.2f\n",
              static_cast<unsigned long long>(run.done), elapsed, static_cast<unsigned long long>(run.bytes),
              static_cast<double>(run.done) / elapsed);
  for (const int fd : run.fds) close(fd);
  return 0;
}
