// Unit tests of the docker Kong driver (kperf/gateway/docker_kong_gateway): the exact argv vectors it
// produces, its sequencing through a fake runner, and the error without an engine.
#include "kperf/gateway/docker_kong_gateway.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace kperf {
namespace {

KongGatewaySpec spec_for(const std::string& version) {
  KongGatewaySpec s;
  s.version = parse_version_spec(version);
  s.declarative_config = "/tmp/kperf-run/kong.json";
  s.proxy_port = 18000;
  s.status_port = 18001;
  s.worker_processes = 2;
  s.work_dir = "/tmp/kperf-run";
  return s;
}

TEST(DriverDocker, ReleaseImages) {
  EXPECT_EQ(docker_release_image("2.4.0"), "kong:2.4.0");
  EXPECT_EQ(docker_release_image("3.0.0-rc.1"), "kong/kong:3.0.0-rc.1");
  EXPECT_EQ(docker_release_image("2.0.0-beta.2"), "kong/kong:2.0.0-beta.2");
}

TEST(DriverDocker, ReleasePlan) {
  const DockerPlan p = docker_plan(spec_for("2.4.0"), {}, "kong:2.4.0");
  EXPECT_EQ(p.container, "kperf-kong-18000");
  EXPECT_EQ(p.info.argv, (Argv{"docker", "info", "--format", "{{.ServerVersion}}"}));
  EXPECT_EQ(p.image_exists.argv, (Argv{"docker", "image", "inspect", "--format", "{{.Id}}", "kong:2.4.0"}));
  EXPECT_EQ(p.pull.argv, (Argv{"docker", "pull", "kong:2.4.0"}));
  const Argv run = {"docker", "run", "--detach", "--name", "kperf-kong-18000", "--label", "kperf=kong",
                    "--network", "host",
                    "--env", "KONG_DATABASE=off",
                    "--env", "KONG_DECLARATIVE_CONFIG=/kong/declarative/kong.yml",
                    "--env", "KONG_PROXY_LISTEN=127.0.0.1:18000",
                    "--env", "KONG_STATUS_LISTEN=127.0.0.1:18001",
                    "--env", "KONG_ADMIN_LISTEN=off",
                    "--env", "KONG_NGINX_WORKER_PROCESSES=2",
                    "--env", "KONG_PROXY_ACCESS_LOG=off",
                    "--env", "KONG_PROXY_ERROR_LOG=/dev/stderr",
                    "--env", "KONG_ANONYMOUS_REPORTS=off",
                    "--volume", "/tmp/kperf-run/kong.json:/kong/declarative/kong.yml:ro",
                    "kong:2.4.0"};
  EXPECT_EQ(p.run.argv, run);
  EXPECT_TRUE(p.run.cwd.empty());
  EXPECT_EQ(p.running.argv, (Argv{"docker", "inspect", "--format", "{{.State.Running}}", "kperf-kong-18000"}));
  EXPECT_EQ(p.inspect_pid.argv, (Argv{"docker", "inspect", "--format", "{{.State.Pid}}", "kperf-kong-18000"}));
  EXPECT_EQ(p.logs.argv, (Argv{"docker", "logs", "kperf-kong-18000"}));
  EXPECT_EQ(p.stop.argv, (Argv{"docker", "stop", "--time", "10", "kperf-kong-18000"}));
  EXPECT_EQ(p.rm.argv, (Argv{"docker", "rm", "--force", "kperf-kong-18000"}));
  EXPECT_EQ(p.ready_port, 18001);
  EXPECT_EQ(p.ready_path, "/status");
}

TEST(DriverDocker, ArgumentsStayWhole) {
  // Paths with spaces and quotes are one argv element each: nothing goes through a shell.
  KongGatewaySpec s = spec_for("2.4.0");
  s.declarative_config = "/tmp/it's a dir/kong.json";
  DockerOptions o;
  o.container_name = "my kong";
  const DockerPlan p = docker_plan(s, o, "kong:2.4.0");
  EXPECT_NE(std::find(p.run.argv.begin(), p.run.argv.end(), "/tmp/it's a dir/kong.json:/kong/declarative/kong.yml:ro"),
            p.run.argv.end());
  EXPECT_EQ(p.rm.argv.back(), "my kong");
  s.declarative_config = "/tmp/a:b/kong.json";
  EXPECT_THROW(docker_plan(s, o, "kong:2.4.0"), std::runtime_error);
}

TEST(DriverDocker, GitCheckoutAndPlan) {
  const KongGatewaySpec s = spec_for("git:feat/perf-x");
  EXPECT_EQ(docker_checkout_dir(s), "/tmp/kperf-run/kong-src");
  const auto fresh = docker_git_checkout_commands(s, {}, false);
  ASSERT_EQ(fresh.size(), 3u);
  EXPECT_EQ(fresh[0].argv, (Argv{"git", "clone", "--quiet", "--no-checkout", "--", "https://github.com/Kong/kong.git",
                                 "/tmp/kperf-run/kong-src"}));
  EXPECT_EQ(fresh[1].argv,
            (Argv{"git", "-C", "/tmp/kperf-run/kong-src", "fetch", "--quiet", "--tags", "origin", "--", "feat/perf-x"}));
  EXPECT_EQ(fresh[2].argv, (Argv{"git", "-C", "/tmp/kperf-run/kong-src", "checkout", "--quiet", "--detach", "FETCH_HEAD"}));
  EXPECT_EQ(docker_git_checkout_commands(s, {}, true).size(), 2u);  // an existing clone is reused

  const DockerPlan p = docker_plan(s, {}, "kong:3.10.0", docker_checkout_dir(s));
  const auto& a = p.run.argv;
  const auto mount = std::find(a.begin(), a.end(), "/tmp/kperf-run/kong-src/kong:/usr/local/share/lua/5.1/kong:ro");
  ASSERT_NE(mount, a.end());
  EXPECT_EQ(*(mount - 1), "--volume");
  EXPECT_EQ(a.back(), "kong:3.10.0");
}

TEST(DriverDocker, AbsenceErrors) {
  auto runner = [](int code, std::string err) {
    return [code, err](const Command& c) {
      EXPECT_EQ(c.argv, (Argv{"docker", "info", "--format", "{{.ServerVersion}}"}));
      return CommandResult{code, "", err};
    };
  };
  try {
    check_docker_available(runner(127, "cannot run docker: No such file or directory"));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "--driver docker: the docker CLI (docker) is not installed; use --driver lab (the built-in lab "
                 "gateway) or --driver local --kong-prefix DIR (a Kong install)");
  }
  try {
    check_docker_available(runner(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the "
                                     "docker daemon running?\n"));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "--driver docker: no Docker engine is running (docker info: Cannot connect to the Docker daemon at "
                 "unix:///var/run/docker.sock. Is the docker daemon running?); use --driver lab (the built-in lab "
                 "gateway) or --driver local --kong-prefix DIR (a Kong install)");
  }
  EXPECT_NO_THROW(check_docker_available([](const Command&) { return CommandResult{0, "24.0.7\n", ""}; }));
}

TEST(DriverDocker, RealProbeOnThisMachine) {
  // This machine has the docker CLI but no engine: the real probe must say so clearly.
  try {
    check_docker_available(default_runner());
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("--driver docker: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("--driver lab"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--driver local"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return;
  }
  GTEST_SKIP() << "a Docker engine answers here: nothing to check about its absence";
}

// Records every command; answers like docker would for a container that exits at once.
struct FakeDocker {
  std::vector<Argv> calls;
  std::filesystem::path checkout;
  bool image_present = false;
  CommandResult operator()(const Command& c) {
    calls.push_back(c.argv);
    const Argv& a = c.argv;
    if (a[0] == "git" && a.size() > 3 && a[3] == "checkout") {
      std::filesystem::create_directories(checkout / "kong");
      std::ofstream(checkout / "kong" / "meta.lua") << "major = 3,\nminor = 10,\npatch = 0,\n--suffix = \"-x\"\n";
    }
    if (a[1] == "info") return {0, "24.0.7\n", ""};
    if (a[1] == "image") return image_present ? CommandResult{0, "sha256:1\n", ""} : CommandResult{1, "", "No such image"};
    if (a[1] == "inspect") return {0, "false\n", ""};
    if (a[1] == "logs") return {0, "", "nginx: [emerg] something\n"};
    return {0, "", ""};
  }
};

TEST(DriverDocker, StartSequenceForGitVersion) {
  const auto work = std::filesystem::temp_directory_path() / ("kperf-docker-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(work);
  KongGatewaySpec s = spec_for("git:master");
  s.work_dir = work;
  s.status_port = 1;  // nothing listens there: the readiness poll fails at once
  auto fake = std::make_shared<FakeDocker>();
  fake->checkout = docker_checkout_dir(s);
  {
    DockerKongGateway kong(s, {}, [fake](const Command& c) { return (*fake)(c); });
    try {
      kong.start();
      FAIL() << "start() should fail: the fake container is not running";
    } catch (const std::runtime_error& e) {
      // Kong's own words from the container's log, not only that it exited
      EXPECT_EQ(std::string(e.what()), "--driver docker: Kong git:master did not start (kong:3.10.0): error.log: something");
    }
    EXPECT_EQ(kong.plan().image, "kong:3.10.0");  // from the checkout's kong/meta.lua
  }  // the destructor stops and removes the container
  std::vector<std::string> seq;
  for (const auto& a : fake->calls) seq.push_back(a[0] == "git" ? "git " + a[a[1] == "-C" ? 3 : 1] : a[1]);
  EXPECT_EQ(seq, (std::vector<std::string>{"info", "git clone", "git fetch", "git checkout", "image", "pull", "rm",
                                           "run", "inspect", "logs", "logs", "stop", "rm"}));
  EXPECT_EQ(fake->calls[5], (Argv{"docker", "pull", "kong:3.10.0"}));
  std::filesystem::remove_all(work);
}

// The workload's config is mounted in the format the image's Kong accepts: kong:2.4.0
// gets _format_version 2.1 (and a 3.x regex path loses its `~`), a git checkout the
// format of the version its kong/meta.lua declares.
TEST(DriverDocker, WritesTheConfigForTheImagesKong) {
  const auto work = std::filesystem::temp_directory_path() / ("kperf-docker-cfg-" + std::to_string(::getpid()));
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  KongGatewaySpec s = spec_for("2.4.0");
  s.work_dir = work;
  s.declarative_config = work / "kong.json";
  s.status_port = 1;
  s.config = nlohmann::json::parse(
      R"({"_format_version": "3.0", "services": [{"name": "a", "url": "http://127.0.0.1:9/",
          "routes": [{"paths": ["~/r/\\d+"]}]}], "plugins": [{"name": "my-custom"}]})");
  auto fake = std::make_shared<FakeDocker>();
  fake->image_present = true;
  {
    DockerKongGateway kong(s, {}, [fake](const Command& c) { return (*fake)(c); });
    EXPECT_THROW(kong.start(), std::runtime_error);  // the fake container never runs
  }
  auto written = nlohmann::json::parse(std::ifstream(work / "kong.json"));
  EXPECT_EQ(written["_format_version"], "2.1");
  EXPECT_EQ(written["services"][0]["routes"][0]["paths"][0], "/r/\\d+");
  // the workload's plugins are enabled besides the bundled ones (a custom one runs)
  bool enabled = false;
  for (const auto& call : fake->calls) {
    if (call.size() > 1 && call[1] == "run") {
      enabled = std::find(call.begin(), call.end(), "KONG_PLUGINS=bundled,my-custom") != call.end();
    }
  }
  EXPECT_TRUE(enabled);
  std::filesystem::remove_all(work);
}

TEST(DriverDocker, StartStopsAtTheProbe) {
  std::vector<Argv> calls;
  DockerKongGateway kong(spec_for("2.4.0"), {}, [&](const Command& c) {
    calls.push_back(c.argv);
    return CommandResult{1, "", "Cannot connect to the Docker daemon"};
  });
  EXPECT_THROW(kong.start(), std::runtime_error);
  ASSERT_EQ(calls.size(), 1u);  // nothing is pulled or run without an engine
  kong.stop();
  EXPECT_EQ(calls.size(), 1u);  // nothing to stop
}

}  // namespace
}  // namespace kperf
