// `kperf agent` on a real nginx with the lua module: `go tool pprof` pulls profiles from
// it under load, 20 concurrent scrapes share one BPF sampler and leave nothing behind, a
// client leaving mid-scrape leaks nothing, bad queries get a 400, a restart of nginx on
// the same prefix is followed, --keep-warm keeps the sampler between scrapes, and SIGTERM /
// SIGINT end it with status 0. The prelude (nginx, the agent, its idle holdings) is the
// AgentTest fixture.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "tests/support/nginx_recording.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/pprof_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using kperf::test::Process;
using kperf::test::read_file;
using kperf::test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

const char* kLua = R"(
      content_by_lua_block {
        local s = 0
        for i = 1, 20000 do s = s + math.sin(i) end
        ngx.say(s)
      })";

// nginx on its own prefix (pid file in PREFIX/logs/nginx.pid, as `--prefix` expects),
// stoppable and startable again on the same prefix and port.
class PrefixNginx {
 public:
  PrefixNginx() : port_(kperf::test::free_port()) {
    ::chmod(dir_.path().c_str(), 0755);
    fs::create_directories(dir_.file("logs"));
    fs::create_directories(dir_.file("tmp"));
    std::ofstream c(dir_.file("nginx.conf"));
    const std::string& d = dir_.path();
    c << "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
         "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n"
      << "daemon off;\nmaster_process on;\nworker_processes 2;\n"
      << "error_log " << d << "/logs/error.log warn;\npid " << d << "/logs/nginx.pid;\n"
      << "events { worker_connections 256; }\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << d << "/tmp;\n  proxy_temp_path " << d << "/tmp;\n"
      << "  fastcgi_temp_path " << d << "/tmp;\n  uwsgi_temp_path " << d << "/tmp;\n"
      << "  scgi_temp_path " << d << "/tmp;\n"
      << "  server {\n    listen 127.0.0.1:" << port_ << " reuseport;\n    location / {" << kLua << "\n    }\n  }\n}\n";
  }
  ~PrefixNginx() { stop(); }

  // Starts it and waits until it answers and its pid file names it; false (and why in
  // error_log()) when it does not.
  bool start() {
    proc_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/nginx", "-p", dir_.path() + "/", "-c",
                                                               dir_.file("nginx.conf"), "-e",
                                                               dir_.file("logs/error.log")},
                                      dir_.file("nginx.out"), dir_.file("nginx.err"));
    if (!kperf::test::wait_for_port(port_, 10)) return false;
    for (int i = 0; i < 500; ++i) {
      if (read_file(dir_.file("logs/nginx.pid")).find(std::to_string(proc_->pid())) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(10);
    proc_.reset();
  }
  pid_t master() const { return proc_ ? proc_->pid() : 0; }
  const std::string& prefix() const { return dir_.path(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string error_log() const { return read_file(dir_.file("logs/error.log")) + read_file(dir_.file("nginx.err")); }

 private:
  TempDir dir_;
  int port_;
  std::unique_ptr<Process> proc_;
};

// Bounded load: `kperf load` for `seconds`.
std::unique_ptr<Process> load(const PrefixNginx& n, int seconds, const TempDir& tmp) {
  return std::make_unique<Process>(std::vector<std::string>{KPERF_BINARY, "load", "-t", "1", "-c", "2", "-d",
                                                            std::to_string(seconds) + "s", n.url()},
                                   tmp.file("load.out"), tmp.file("load.err"));
}

class Agent {
 public:
  Agent(const std::string& prefix, const TempDir& tmp, const std::vector<std::string>& extra = {})
      : port_(kperf::test::free_port()), err_(tmp.file("agent.err")) {
    std::vector<std::string> argv = {KPERF_BINARY, "agent", "--prefix", prefix, "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "-F", "99"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Process>(argv, tmp.file("agent.out"), err_);
    up_ = kperf::test::wait_for_port(port_, 15);
  }
  bool up() const { return up_; }
  int port() const { return port_; }
  pid_t pid() const { return proc_->pid(); }
  std::string url(const std::string& target) const { return "http://127.0.0.1:" + std::to_string(port_) + target; }
  std::string err() const { return read_file(err_); }
  Process& process() { return *proc_; }

 private:
  int port_;
  std::string err_;
  std::unique_ptr<Process> proc_;
  bool up_ = false;
};

struct Reply {
  int status = -1;
  std::string body;
  std::string error;
};

Reply get(int port, const std::string& target, double timeout_s = 60) {
  Reply r;
  try {
    asio::io_context io;
    beast::tcp_stream s(io);
    s.expires_after(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(s, buf, parser);
    r.status = parser.get().result_int();
    r.body = parser.get().body();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

// What the agent process holds: fds, threads, BPF programs and links, perf events.
struct Holdings {
  int fds = 0, threads = 0, bpf_progs = 0, bpf_links = 0, perf_events = 0;
  bool operator==(const Holdings&) const = default;
};
std::ostream& operator<<(std::ostream& o, const Holdings& h) {
  return o << "{fds " << h.fds << ", threads " << h.threads << ", bpf progs " << h.bpf_progs << ", bpf links "
           << h.bpf_links << ", perf events " << h.perf_events << "}";
}
Holdings holdings(pid_t pid) {
  Holdings h;
  const std::string proc = "/proc/" + std::to_string(pid);
  // Iterated with error codes: the agent opens and closes fds (and threads) meanwhile,
  // and a throwing increment would end the test with joinable client threads (abort).
  std::error_code ec;
  for (fs::directory_iterator it(proc + "/fd", ec), end; !ec && it != end; it.increment(ec)) {
    ++h.fds;
    const std::string link = fs::read_symlink(it->path(), ec).string();
    ec.clear();
    if (link.find("perf_event") != std::string::npos) ++h.perf_events;
    const std::string info = read_file(proc + "/fdinfo/" + it->path().filename().string());
    if (info.find("prog_type:") != std::string::npos) ++h.bpf_progs;
    if (info.find("link_type:") != std::string::npos) ++h.bpf_links;
  }
  ec.clear();
  for (fs::directory_iterator it(proc + "/task", ec), end; !ec && it != end; it.increment(ec)) ++h.threads;
  return h;
}
// Polls until the agent's holdings equal `want` (up to `seconds`); returns the last seen.
Holdings settle(pid_t pid, const Holdings& want, double seconds) {
  Holdings h;
  const auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  do {
    h = holdings(pid);
    if (h == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < end);
  return h;
}

// The most BPF programs, links and perf events the agent held at once until `done`
// (polled every 20 ms), with its fds and threads at that moment.
Holdings peak(pid_t pid, const std::atomic<bool>& done) {
  Holdings most;
  while (!done) {
    const Holdings h = holdings(pid);
    if (h.bpf_progs + h.bpf_links + h.perf_events > most.bpf_progs + most.bpf_links + most.perf_events) most = h;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return most;
}

// `go tool pprof -raw` against a URL: its text and the sum of the sample counts.
struct Pulled {
  int status = -1;
  std::string text, err;
  long samples = 0;
  double seconds = 0;
};
Pulled go_pprof_raw(const std::string& url, const TempDir& tmp) {
  const std::string home = tmp.file("gohome");
  fs::create_directories(home);
  const auto r = kperf::test::run({"/usr/bin/env", "HOME=" + home, "GOCACHE=" + home + "/cache", "GOFLAGS=-mod=mod",
                                   "GOTOOLCHAIN=local", "/usr/bin/go", "tool", "pprof", "-raw", "-symbolize=none", url},
                                  120);
  Pulled p{r.status, r.out, r.err, 0, r.seconds};
  // Samples: lines "   COUNT   NANOS: LOC LOC ..." after "samples/count cpu/nanoseconds".
  std::istringstream in(r.out);
  std::string line;
  bool in_samples = false;
  while (std::getline(in, line)) {
    if (line.find("samples/count") != std::string::npos) {
      in_samples = true;
      continue;
    }
    if (!in_samples) continue;
    if (line.rfind("Locations", 0) == 0 || line.rfind("Mappings", 0) == 0) break;
    std::istringstream fields(line);
    long count = 0;
    std::string second;
    if (fields >> count >> second && !second.empty() && second.back() == ':') p.samples += count;
  }
  return p;
}

std::string agent_unavailable() {
  if (::geteuid() != 0) return "kperf agent samples with eBPF: needs root";
  if (std::string why = kperf::test::nginx_lua_unavailable(); !why.empty()) return why;
  if (::access("/usr/bin/go", X_OK) != 0) {
    return "needs Debian's golang-go for `go tool pprof` (scripts/setup installs it)";
  }
  return "";
}
#define REQUIRE_PARTS()                                                   \
  if (const std::string why = agent_unavailable(); !why.empty()) GTEST_SKIP() << why

// Every test's prelude: nginx on its prefix, an agent following that prefix, and what the
// idle agent holds (no sampler loaded: no BPF program, no perf event).
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PARTS();
    ASSERT_TRUE(nginx.start()) << nginx.error_log();
    first_master = nginx.master();
    start_agent();
  }
  // (Re)starts the agent on nginx's prefix (with `extra` arguments) and takes its idle baseline.
  void start_agent(const std::vector<std::string>& extra = {}) {
    agent.reset();
    agent = std::make_unique<Agent>(nginx.prefix(), tmp, extra);
    ASSERT_TRUE(agent->up()) << agent->err();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    idle = holdings(agent->pid());
    EXPECT_EQ(idle.bpf_progs, 0) << idle;
    EXPECT_EQ(idle.perf_events, 0) << idle;
  }

  TempDir tmp;
  PrefixNginx nginx;
  pid_t first_master = 0;  // nginx's master when the agent started
  std::unique_ptr<Agent> agent;
  Holdings idle;
};

}  // namespace

TEST_F(AgentTest, GoToolPprofPullsAProfileUnderLoad) {
  // 5 s: the window opens once the sampler is loaded, which took over 2 s on a loaded CI machine.
  auto l = load(nginx, 12, tmp);
  const Pulled p = go_pprof_raw(agent->url("/debug/pprof/profile?seconds=5"), tmp);
  ASSERT_EQ(p.status, 0) << p.err << agent->err();
  EXPECT_GT(p.samples, 0) << p.text.substr(0, 3000);
  EXPECT_NE(p.text.find("Comment: kperf agent: nginx master " + std::to_string(nginx.master())), std::string::npos)
      << p.text.substr(0, 3000);
  EXPECT_GE(p.seconds, 5.0);
  EXPECT_LT(p.seconds, 30.0);
  // The other pages.
  Reply r = get(agent->port(), "/healthz");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body.rfind("ok\n", 0), 0u) << r.body;
  r = get(agent->port(), "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("profiles served: 1"), std::string::npos) << r.body;
  l->wait(20);
}

TEST_F(AgentTest, BadQueriesAre400WithOneLine) {
  for (const char* q : {"seconds=0", "seconds=301", "seconds=abc", "seconds=-5", "seconds=1.5", "seconds="}) {
    const Reply r = get(agent->port(), std::string("/debug/pprof/profile?") + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.error;
    EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n'), 1) << r.body;
  }
  EXPECT_EQ(get(agent->port(), "/debug/pprof/heap").status, 404);
  EXPECT_EQ(holdings(agent->pid()).bpf_progs, 0) << "a refused scrape loaded the sampler";
}

TEST_F(AgentTest, ConcurrentScrapesShareOneSamplerAndLeaveNothingBehind) {
  auto l = load(nginx, 12, tmp);

  // One scrape: what one sampler holds (the most seen while it runs).
  std::atomic<bool> done{false};
  std::optional<Reply> single;
  std::jthread one([&] {
    single = get(agent->port(), "/debug/pprof/profile?seconds=2");
    done = true;
  });
  const Holdings one_sampler = peak(agent->pid(), done);
  one.join();
  ASSERT_EQ(single->status, 200) << single->error << single->body << agent->err();
  ASSERT_GT(one_sampler.bpf_progs, 0) << one_sampler;
  ASSERT_GT(one_sampler.perf_events, 0) << one_sampler;
  EXPECT_EQ(settle(agent->pid(), idle, 5), idle);

  // Twenty at once.
  constexpr int kScrapes = 20;
  std::vector<Reply> replies(kScrapes);
  std::vector<std::jthread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < kScrapes; ++i) {
    clients.emplace_back([&, i] {
      replies[i] = get(agent->port(), "/debug/pprof/profile?seconds=" + std::to_string(2 + i % 3));
      ++answered;
    });
  }
  std::atomic<bool> all_done{false};
  std::jthread watch([&] {
    while (answered < kScrapes) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    all_done = true;
  });
  const Holdings busy = peak(agent->pid(), all_done);
  for (auto& c : clients) c.join();
  watch.join();
  EXPECT_EQ(busy.bpf_progs, one_sampler.bpf_progs) << busy;
  EXPECT_EQ(busy.bpf_links, one_sampler.bpf_links) << busy;
  EXPECT_EQ(busy.perf_events, one_sampler.perf_events) << busy;
  for (int i = 0; i < kScrapes; ++i) {
    EXPECT_EQ(replies[i].status, 200) << i << " " << replies[i].error << replies[i].body;
    EXPECT_GE(replies[i].body.size(), 2u);
    if (replies[i].body.size() >= 2) {
      EXPECT_EQ(static_cast<unsigned char>(replies[i].body[0]), 0x1f) << "not gzip";
      EXPECT_EQ(static_cast<unsigned char>(replies[i].body[1]), 0x8b) << "not gzip";
    }
  }
  EXPECT_EQ(settle(agent->pid(), idle, 5), idle) << "after 20 scrapes";
  const Reply index = get(agent->port(), "/");
  EXPECT_NE(index.body.find("profiles served: 21"), std::string::npos) << index.body;
  l->wait(20);
}

TEST_F(AgentTest, ClientLeavingMidScrapeLeaksNothing) {
  {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(agent->port())));
    const std::string req = "GET /debug/pprof/profile?seconds=60 HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(s, asio::buffer(req));
    const auto end = Clock::now() + std::chrono::seconds(10);
    while (holdings(agent->pid()).bpf_progs == 0 && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(holdings(agent->pid()).bpf_progs, 0) << "the scrape did not start a sampler\n" << agent->err();
  }  // the client goes away 58 s early
  EXPECT_EQ(settle(agent->pid(), idle, 5), idle);
  const Reply index = get(agent->port(), "/");
  EXPECT_NE(index.body.find("scrapes abandoned by their client: 1"), std::string::npos) << index.body;
  EXPECT_NE(index.body.find("State: idle"), std::string::npos) << index.body;
  // And it still serves.
  const Reply r = get(agent->port(), "/debug/pprof/profile?seconds=1");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
}

TEST_F(AgentTest, FollowsARestartOfItsPrefix) {
  const pid_t first = first_master;
  auto l = load(nginx, 20, tmp);
  std::optional<Reply> during;
  std::jthread scrape([&] { during = get(agent->port(), "/debug/pprof/profile?seconds=20"); });
  const auto sampling = Clock::now() + std::chrono::seconds(15);
  while (holdings(agent->pid()).perf_events == 0 && Clock::now() < sampling) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  nginx.stop();  // mid-scrape
  l.reset();     // its target is gone
  ASSERT_TRUE(nginx.start()) << nginx.error_log();
  const pid_t second = nginx.master();
  ASSERT_NE(first, second);
  scrape.join();
  // The scrape open when the master exited is answered with what it had, saying so.
  ASSERT_EQ(during->status, 200) << during->error << during->body << agent->err();
  kperf::test::write_file(tmp.file("during.pb.gz"), during->body);
  const Pulled d = go_pprof_raw(tmp.file("during.pb.gz"), tmp);
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_NE(d.text.find("target exited"), std::string::npos) << d.text.substr(0, 3000);
  EXPECT_GT(d.samples, 0) << "the part before the restart is kept\n" << d.text.substr(0, 3000);

  // The agent follows the new master.
  Reply health;
  const auto end = Clock::now() + std::chrono::seconds(10);
  do {
    health = get(agent->port(), "/healthz");
    if (health.status == 200 && health.body.find(std::to_string(second)) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (Clock::now() < end);
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.body.find("restarted"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("was " + std::to_string(first)), std::string::npos) << health.body;

  auto l2 = load(nginx, 8, tmp);
  const Pulled p = go_pprof_raw(agent->url("/debug/pprof/profile?seconds=2"), tmp);
  ASSERT_EQ(p.status, 0) << p.err << agent->err();
  EXPECT_GT(p.samples, 0) << "no samples of the new workers\n" << p.text.substr(0, 3000);
  EXPECT_NE(p.text.find("Comment: kperf agent: nginx master " + std::to_string(second)), std::string::npos)
      << p.text.substr(0, 3000);
  EXPECT_NE(p.text.find("restarted: now following nginx master " + std::to_string(second) + " (was " +
                        std::to_string(first) + ")"),
            std::string::npos)
      << p.text.substr(0, 3000);
  l2->wait(20);
}

TEST_F(AgentTest, SigtermAndSigintEndItWithStatusZero) {
  {
    std::optional<Reply> pending;
    std::jthread scrape([&] { pending = get(agent->port(), "/debug/pprof/profile?seconds=30", 40); });
    const auto end = Clock::now() + std::chrono::seconds(10);
    while (holdings(agent->pid()).bpf_progs == 0 && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    agent->process().signal(SIGTERM);  // while sampling
    EXPECT_EQ(agent->process().wait(10), 0) << agent->err();
    scrape.join();
    EXPECT_NE(pending->status, 200);
  }
  {
    ASSERT_NO_FATAL_FAILURE(start_agent());
    agent->process().signal(SIGINT);  // idle
    EXPECT_EQ(agent->process().wait(10), 0) << agent->err();
  }
}

// --keep-warm: the sampler outlives a scrape by that long, so the next scrape starts at
// once on the same recording (no "sampling began ... late" comment), then it is unloaded.
TEST_F(AgentTest, KeepWarmKeepsTheSamplerLoadedBetweenScrapes) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--keep-warm", "4"}));
  auto l = load(nginx, 12, tmp);
  const Reply first = get(agent->port(), "/debug/pprof/profile?seconds=2");
  ASSERT_EQ(first.status, 200) << first.error << first.body << agent->err();
  EXPECT_GT(holdings(agent->pid()).bpf_progs, 0) << "the sampler was unloaded at once";
  EXPECT_NE(get(agent->port(), "/").body.find("kept warm"), std::string::npos);
  const Reply second = get(agent->port(), "/debug/pprof/profile?seconds=2");
  ASSERT_EQ(second.status, 200) << second.error << second.body << agent->err();
  const kperf::test::PprofProfile p = kperf::test::read_pprof_gz(second.body);
  std::string comments;
  for (const auto i : p.comments) comments += p.str(i) + "\n";
  EXPECT_EQ(comments.find("sampling began"), std::string::npos) << comments;
  EXPECT_GT(p.total(0), 0) << comments;
  const Reply index = get(agent->port(), "/");
  EXPECT_NE(index.body.find("Recordings started: 1;"), std::string::npos) << index.body;
  EXPECT_NE(index.body.find("profiles served: 2"), std::string::npos) << index.body;
  // No window open: what was sampled is dropped at every poll (the sampler stays loaded).
  EXPECT_NE(index.body.find("Stack nodes held: 0."), std::string::npos) << index.body;
  // Unloaded after the keep-warm time.
  EXPECT_EQ(settle(agent->pid(), idle, 4 + 10), idle);
  EXPECT_NE(get(agent->port(), "/").body.find("State: idle"), std::string::npos);
  l->wait(20);
}
