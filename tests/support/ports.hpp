// Loopback ports for tests: a free one, and waiting until a server listens.
#pragma once

namespace kperf::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();
// Whether 127.0.0.1:port accepts a connection now.
bool port_open(int port);
// Polls until 127.0.0.1:port accepts connections (up to `seconds`).
bool wait_for_port(int port, double seconds);

}  // namespace kperf::test
