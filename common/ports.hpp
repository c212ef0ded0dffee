// Loopback ports: one that is free on 127.0.0.1 right now, for the servers kperf starts
// (the lab's nginx, a Kong it runs).
#pragma once

namespace kperf::common {

// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket. Throws
// std::runtime_error when no socket can be bound.
int free_port();

}  // namespace kperf::common
