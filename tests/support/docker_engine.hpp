// A private Docker engine for integration tests: scripts/docker/engine's dockerd with
// its state in BUILD/docker-engine (shared by the test processes of one ctest run,
// stopped by the docker tests' cleanup fixture), and the test images of
// scripts/docker/kong-image built once into it (cached in BUILD/docker-cache).
#pragma once

#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace kperf::test {

// "" when the engine answers (started now if it was not) and DOCKER_HOST in this
// process's environment points at it; otherwise one line saying why not (not root, no
// docker.io, the daemon did not start). Tests GTEST_SKIP with it; CI has docker.io.
std::string docker_engine_unavailable();

// unix://BUILD/docker-engine/docker.sock
std::string docker_host();
// The engine's folder (BUILD/docker-engine).
std::string docker_engine_dir();

// Builds (or finds up to date) the images scripts/docker/kong-image makes for `what`
// (kong, nginx-luajit, all), serialized across test processes by a lock file. Throws
// with the script's output when the build fails.
void docker_build_images(const std::string& what);

// Runs the docker CLI against the private engine (bounded by `seconds`).
RunResult docker(const std::vector<std::string>& args, double seconds = 60);

// The ids of every container of the engine (running or not).
std::vector<std::string> docker_containers();

}  // namespace kperf::test
