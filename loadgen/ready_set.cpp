// ReadySet: epoll_ctl once per connection, epoll_wait(0) per wake-up of the io_context.
#include "loadgen/ready_set.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace kperf::loadgen {

namespace {
constexpr uint32_t kBase = EPOLLIN | EPOLLRDHUP | EPOLLET;
}

ReadySet::ReadySet(boost::asio::io_context& io, bool direct) : desc_(io), direct_(direct) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  // desc_ owns the epoll fd from here on (closed by its destructor).
  desc_.assign(epfd_);
}

ReadySet::~ReadySet() = default;

bool ReadySet::add(int fd, Handler* handler) {
  epoll_event ev{};
  ev.events = kBase;
  ev.data.ptr = handler;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  arm();
  return true;
}

bool ReadySet::want_write(int fd, Handler* handler, bool on) {
  epoll_event ev{};
  ev.events = kBase | (on ? EPOLLOUT : 0u);
  ev.data.ptr = handler;
  return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void ReadySet::arm() {
  if (armed_ || direct_) return;
  armed_ = true;
  desc_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                   [this](const boost::system::error_code& ec) {
                     armed_ = false;
                     if (ec) return;
                     dispatch();
                     arm();
                   });
}

int ReadySet::wait(int timeout_ms) {
  epoll_event events[256];
  const int n = ::epoll_wait(epfd_, events, 256, timeout_ms);
  for (int i = 0; i < n; ++i) static_cast<Handler*>(events[i].data.ptr)->on_ready(events[i].events);
  return n > 0 ? n : 0;
}

void ReadySet::dispatch() {
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(epfd_, events, 256, 0);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) static_cast<Handler*>(events[i].data.ptr)->on_ready(events[i].events);
    if (n < 256) return;
  }
}

}  // namespace kperf::loadgen
