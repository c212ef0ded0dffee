// `kperf agent --container NAME` on the tests' private Docker engine: the agent follows
// the nginx of a kperf-nginx-luajit:test container (run under a shell loop, so its nginx
// can restart while the container's init stays) through a restart of that nginx and a
// restart of the whole container (a new init process), and its /healthz and the profiles'
// comments say which master it follows and what happened; each profile holds samples of
// the current master's workers. Also: an agent started before its container exists
// waits for it (/healthz 503 with the reason), and SIGTERM ends it with status 0.
#include <signal.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/docker_engine.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/pprof_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

#define REQUIRE_DOCKER()                                        \
  do {                                                          \
    static const std::string why = docker_engine_unavailable(); \
    if (!why.empty()) GTEST_SKIP() << why;                      \
  } while (0)

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The nginx of kperf-nginx-luajit:test under a shell loop (`sh` is the container's init;
// nginx is started again whenever it exits), on a free port of the host network;
// removed at the end. Named `name`, else kperf-test-agent-PORT.
class LoopingNginxContainer {
 public:
  explicit LoopingNginxContainer(std::string name = {})
      : port_(free_port()), name_(name.empty() ? "kperf-test-agent-" + std::to_string(port_) : std::move(name)) {
    docker({"rm", "-f", name_});
    const RunResult r =
        docker({"run", "--detach", "--name", name_, "--network", "host", "--env", "PORT=" + std::to_string(port_),
                "kperf-nginx-luajit:test", "sh", "-c", "while :; do nginx-luajit-start; sleep 0.2; done"});
    if (r.status != 0) throw std::runtime_error("docker run failed: " + r.err);
    if (!wait_up()) throw std::runtime_error("nginx in the container did not answer: " + docker({"logs", name_}).err);
  }
  ~LoopingNginxContainer() { docker({"rm", "-f", name_}); }
  LoopingNginxContainer(const LoopingNginxContainer&) = delete;
  LoopingNginxContainer& operator=(const LoopingNginxContainer&) = delete;

  bool wait_up() const {
    for (int i = 0; i < 300; ++i) {
      if (run_command("curl -sf -o /dev/null http://127.0.0.1:" + std::to_string(port_) + "/status") == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  const std::string& name() const { return name_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/work"; }
  pid_t init() const { return std::stoi(trimmed(docker({"inspect", "--format", "{{.State.Pid}}", name_}).out)); }
  // The host pid of nginx's master: the child of the shell that is an nginx master.
  pid_t master() const {
    const pid_t sh = init();
    for (int i = 0; i < 100; ++i) {
      const std::string kids = read_file("/proc/" + std::to_string(sh) + "/task/" + std::to_string(sh) + "/children");
      for (size_t at = 0; at < kids.size();) {
        const size_t sp = kids.find(' ', at);
        const std::string k = kids.substr(at, sp - at);
        if (!k.empty() && read_file("/proc/" + k + "/cmdline").rfind("nginx: master", 0) == 0) return std::stoi(k);
        at = sp == std::string::npos ? kids.size() : sp + 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  // Stops nginx inside (the shell starts it again).
  void restart_nginx() const {
    const RunResult r = docker({"exec", name_, "sh", "-c", "kill -QUIT $(cat /run/nginx-kperf.pid)"});
    if (r.status != 0) throw std::runtime_error("docker exec kill failed: " + r.err);
  }
  void restart_container() const {
    const RunResult r = docker({"restart", "--time", "1", name_}, 90);
    if (r.status != 0) throw std::runtime_error("docker restart failed: " + r.err);
  }

 private:
  int port_;
  std::string name_;
};

class ContainerAgent {
 public:
  ContainerAgent(const std::string& container, const TempDir& tmp)
      : port_(free_port()), err_(tmp.file("agent.err")) {
    proc_ = std::make_unique<Process>(std::vector<std::string>{KPERF_BINARY, "agent", "--container", container,
                                                               "--listen", "127.0.0.1:" + std::to_string(port_), "-F",
                                                               "99"},
                                      tmp.file("agent.out"), err_);
    up_ = wait_for_port(port_, 30);
  }
  bool up() const { return up_; }
  std::string err() const { return read_file(err_); }
  Process& process() { return *proc_; }
  // GET path with curl: status and body (written to `file`).
  int get(const std::string& path, const std::string& file, int max_seconds = 60) const {
    const RunResult r = run({"curl", "-s", "-o", file, "-w", "%{http_code}", "--max-time",
                             std::to_string(max_seconds), "http://127.0.0.1:" + std::to_string(port_) + path},
                            max_seconds + 10);
    try {
      return std::stoi(r.out);
    } catch (const std::exception&) {
      return -1;
    }
  }

 private:
  int port_;
  std::string err_;
  std::unique_ptr<Process> proc_;
  bool up_ = false;
};

// Polls /healthz until its body contains `needle` (up to `seconds`); returns the last body.
std::string healthz_with(const ContainerAgent& a, const TempDir& tmp, const std::string& needle, double seconds) {
  std::string body;
  const auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  do {
    if (a.get("/healthz", tmp.file("healthz"), 10) == 200) {
      body = read_file(tmp.file("healthz"));
      if (body.find(needle) != std::string::npos) return body;
    } else {
      body = "(not 200) " + read_file(tmp.file("healthz"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (Clock::now() < end);
  return body;
}

// A 3 s profile under a bounded load on the container's /work: its comments, joined by
// newlines, and its sample count.
struct Pulled {
  int status = -1;
  std::string comments;
  std::int64_t samples = 0;
};
Pulled scrape_under_load(const ContainerAgent& a, const LoopingNginxContainer& c, const TempDir& tmp) {
  Process load({KPERF_BINARY, "load", "-t", "1", "-c", "2", "-d", "8s", c.url()}, tmp.file("load.out"),
               tmp.file("load.err"));
  Pulled p;
  p.status = a.get("/debug/pprof/profile?seconds=3", tmp.file("profile.pb.gz"));
  load.wait(30);
  if (p.status != 200) {
    p.comments = read_file(tmp.file("profile.pb.gz"));
    return p;
  }
  const PprofProfile prof = read_pprof_gz(read_file(tmp.file("profile.pb.gz")));
  for (const auto i : prof.comments) p.comments += prof.str(i) + "\n";
  p.samples = prof.total(0);
  return p;
}

// Follows the container's nginx through a restart of its nginx and of the container.
TEST(DockerAgent, FollowsContainerThroughNginxAndContainerRestarts) {
  REQUIRE_DOCKER();
  docker_build_images("nginx-luajit");
  LoopingNginxContainer c;
  TempDir t;
  ContainerAgent agent(c.name(), t);
  ASSERT_TRUE(agent.up()) << agent.err();
  EXPECT_THAT(agent.err(), HasSubstr("--container " + c.name()));

  const pid_t init1 = c.init(), m1 = c.master();
  ASSERT_GT(m1, 0);
  std::string h = healthz_with(agent, t, "nginx master " + std::to_string(m1), 10);
  EXPECT_THAT(h, HasSubstr("following nginx master " + std::to_string(m1))) << agent.err();
  EXPECT_THAT(h, HasSubstr("container " + c.name())) << h;
  Pulled p = scrape_under_load(agent, c, t);
  ASSERT_EQ(p.status, 200) << p.comments << agent.err();
  EXPECT_GT(p.samples, 0) << p.comments;
  EXPECT_THAT(p.comments, HasSubstr("kperf agent: nginx master " + std::to_string(m1) + " (container " + c.name()))
      << p.comments;

  // nginx restarts inside; the container's init stays.
  c.restart_nginx();
  ASSERT_TRUE(c.wait_up());
  const pid_t m2 = c.master();
  ASSERT_GT(m2, 0);
  ASSERT_NE(m2, m1);
  ASSERT_EQ(c.init(), init1);
  const std::string nginx_restart =
      "restarted: now following nginx master " + std::to_string(m2) + " (was " + std::to_string(m1) + ")";
  h = healthz_with(agent, t, nginx_restart, 20);
  EXPECT_THAT(h, HasSubstr(nginx_restart)) << agent.err();
  p = scrape_under_load(agent, c, t);
  ASSERT_EQ(p.status, 200) << p.comments << agent.err();
  EXPECT_GT(p.samples, 0) << "no samples of the new master's workers\n" << p.comments;
  EXPECT_THAT(p.comments, HasSubstr("kperf agent: nginx master " + std::to_string(m2))) << p.comments;
  EXPECT_THAT(p.comments, HasSubstr(nginx_restart)) << p.comments;

  // The container restarts: a new init, a new master.
  c.restart_container();
  ASSERT_TRUE(c.wait_up());
  const pid_t init3 = c.init(), m3 = c.master();
  ASSERT_GT(m3, 0);
  ASSERT_NE(init3, init1);
  const std::string container_restart = "container restarted (init host pid " + std::to_string(init3) + ", was " +
                                        std::to_string(init1) + "): now following nginx master " +
                                        std::to_string(m3) + " (was " + std::to_string(m2) + ")";
  h = healthz_with(agent, t, container_restart, 30);
  EXPECT_THAT(h, HasSubstr(container_restart)) << agent.err();
  EXPECT_THAT(h, HasSubstr("target restarted 2 time(s)")) << h;
  p = scrape_under_load(agent, c, t);
  ASSERT_EQ(p.status, 200) << p.comments << agent.err();
  EXPECT_GT(p.samples, 0) << "no samples after the container restarted\n" << p.comments;
  EXPECT_THAT(p.comments, HasSubstr("kperf agent: nginx master " + std::to_string(m3))) << p.comments;
  EXPECT_THAT(p.comments, HasSubstr(container_restart)) << p.comments;

  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait(20), 0) << agent.err();
}

// Started before its container exists: it serves, /healthz says why there is no target,
// and it follows the container once it runs.
TEST(DockerAgent, WaitsForAContainerThatIsNotThereYet) {
  REQUIRE_DOCKER();
  docker_build_images("nginx-luajit");
  TempDir t;
  const std::string name = "kperf-test-agent-later-" + std::to_string(free_port());
  ContainerAgent agent(name, t);
  ASSERT_TRUE(agent.up()) << agent.err();
  EXPECT_THAT(agent.err(), HasSubstr("not running yet"));
  EXPECT_EQ(agent.get("/healthz", t.file("healthz"), 10), 503);
  EXPECT_THAT(read_file(t.file("healthz")), HasSubstr("--container " + name + ": not found"));
  // A container of that name appears.
  {
    LoopingNginxContainer c(name);
    const pid_t m = c.master();
    ASSERT_GT(m, 0);
    const std::string h = healthz_with(agent, t, "following nginx master " + std::to_string(m), 20);
    EXPECT_THAT(h, HasSubstr("following nginx master " + std::to_string(m))) << agent.err();
    EXPECT_THAT(h, HasSubstr("container " + name)) << h;
  }
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait(20), 0) << agent.err();
}

}  // namespace
}  // namespace kperf::test
