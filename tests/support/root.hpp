// REQUIRE_ROOT(): skips the current GoogleTest test unless it runs as root (eBPF sampling,
// perf events, ptrace need it). Tests that need root carry the ctest label `root`.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (BPF, perf events, ptrace)"
