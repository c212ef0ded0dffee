// The tests' private Docker engine and images (see docker_engine.hpp).
#include "tests/support/docker_engine.hpp"
#include "tests/support/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace kperf::test {

namespace {

namespace fs = std::filesystem;

std::string scripts_dir() { return std::string(KPERF_SOURCE_DIR) + "/scripts/docker"; }
std::string cache_dir() { return std::string(KPERF_BUILD_DIR) + "/docker-cache"; }

bool on_path(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"}) {
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

std::string docker_engine_dir() { return std::string(KPERF_BUILD_DIR) + "/docker-engine"; }
std::string docker_host() { return "unix://" + docker_engine_dir() + "/docker.sock"; }

std::string docker_engine_unavailable() {
  if (::geteuid() != 0) return "the Docker tests need root (a private dockerd, BPF sampling)";
  if (!on_path("dockerd") || !on_path("docker")) return "docker.io is not installed (scripts/setup installs it)";
  if (!on_path("debootstrap")) return "debootstrap is not installed (scripts/setup installs it)";
  ::setenv("DOCKER_HOST", docker_host().c_str(), 1);
  fs::create_directories(docker_engine_dir());
  FileLock lock(docker_engine_dir() + ".lock");
  const RunResult r = run({scripts_dir() + "/engine", "start", docker_engine_dir()}, 90);
  if (r.status != 0) return "the private Docker engine did not start: " + last_line(r.err + r.out);
  return "";
}

void docker_build_images(const std::string& what) {
  fs::create_directories(cache_dir());
  FileLock lock(cache_dir() + ".lock");
  ::setenv("KPERF_DOCKER_CACHE", cache_dir().c_str(), 1);
  ::setenv("KPERF_SHARED_DIR", KPERF_SHARED_DIR, 1);
  const RunResult r = run({scripts_dir() + "/kong-image", what}, 600);
  if (r.status != 0) throw std::runtime_error("scripts/docker/kong-image " + what + " failed:\n" + r.err + r.out);
}

RunResult docker(const std::vector<std::string>& args, double seconds) {
  std::vector<std::string> argv = {"docker", "-H", docker_host()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, seconds);
}

std::vector<std::string> docker_containers() {
  const RunResult r = docker({"ps", "-aq"});
  if (r.status != 0) throw std::runtime_error("docker ps -aq failed: " + r.err);
  std::vector<std::string> ids;
  std::istringstream in(r.out);
  std::string id;
  while (in >> id) ids.push_back(id);
  return ids;
}

}  // namespace kperf::test
