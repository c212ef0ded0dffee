// ReadySet: epoll_ctl once per connection, epoll_pwait2 (sub-millisecond timeouts, for -R
// sends on time) per wake-up of the worker's loop, a min-heap of wake-up times.
#include "loadgen/ready_set.hpp"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace kperf::loadgen {

namespace {
constexpr uint32_t kBase = EPOLLIN | EPOLLRDHUP | EPOLLET;
}

ReadySet::ReadySet() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

ReadySet::~ReadySet() { ::close(epfd_); }

bool ReadySet::add(int fd, Handler* handler, bool write) {
  epoll_event ev{};
  ev.events = kBase | (write ? EPOLLOUT : 0u);
  ev.data.ptr = handler;
  return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool ReadySet::want_write(int fd, Handler* handler, bool on) {
  epoll_event ev{};
  ev.events = kBase | (on ? EPOLLOUT : 0u);
  ev.data.ptr = handler;
  return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void ReadySet::wake_at(int64_t when_ns, Handler* handler, uint64_t token) {
  wakes_.push(Wake{when_ns, handler, token});
}

void ReadySet::run_due(int64_t now_ns) {
  while (!wakes_.empty() && wakes_.top().when <= now_ns) {
    const Wake w = wakes_.top();
    wakes_.pop();
    w.handler->on_wake(w.token);  // may add wake-ups (later than now_ns)
  }
}

void ReadySet::wait(int64_t now_ns, int64_t until_ns) {
  if (!wakes_.empty() && wakes_.top().when < until_ns) until_ns = wakes_.top().when;
  const int64_t timeout = until_ns > now_ns ? until_ns - now_ns : 0;
  const timespec ts{static_cast<time_t>(timeout / 1'000'000'000), static_cast<long>(timeout % 1'000'000'000)};
  epoll_event events[256];
  int n = -1;
  static std::atomic<bool> pwait2{true};  // kernels before 5.11 lack it: millisecond waits then
  if (pwait2) {
    n = ::epoll_pwait2(epfd_, events, 256, &ts, nullptr);
    if (n < 0 && errno == ENOSYS) pwait2 = false;
  }
  if (!pwait2) n = ::epoll_wait(epfd_, events, 256, static_cast<int>((timeout + 999'999) / 1'000'000));
  for (int i = 0; i < n; ++i) static_cast<Handler*>(events[i].data.ptr)->on_ready(events[i].events);
}

}  // namespace kperf::loadgen
