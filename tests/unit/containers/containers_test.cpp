// Container discovery on fake /proc trees: container ids in the cgroup formats of
// Docker (cgroupfs and systemd drivers), containerd, CRI-O and the kubelet; NSpid
// parsing; the container's first process; mapping a namespace pid back to the host pid;
// where a containerized JIT writes its perf map.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "profiler/targets.hpp"
#include "symbolizer/perf_map.hpp"

namespace kperf::prof {
namespace {

namespace fs = std::filesystem;

const std::string kId = "3292039787eea49416aa7bb89ca11f8d3ff4e820a467643b772eb7edb0393020";
const std::string kOther = "093092a417b3f0c9d6e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kperf-fakeproc-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  // A process: its ppid, NSpid line ("" for none), cgroup text and pid namespace link.
  void add(int pid, int ppid, const std::string& nspid, const std::string& cgroup, const std::string& ns) {
    const fs::path d = root_ / std::to_string(pid);
    fs::create_directories(d / "ns");
    std::ofstream(d / "stat") << pid << " (nginx) S " << ppid << " 1 1 0\n";
    std::ofstream(d / "status") << "Name:\tnginx\nPid:\t" << pid << "\n" << (nspid.empty() ? "" : "NSpid:\t" + nspid + "\n")
                                << "Uid:\t0\n";
    std::ofstream(d / "cgroup") << cgroup;
    fs::create_symlink(ns, d / "ns" / "pid");
  }
  fs::path root_;
};

TEST(CgroupIds, EveryRuntimeFormat) {
  for (const std::string& path : {"/docker/" + kId, "/system.slice/docker-" + kId + ".scope",
                                 "/system.slice/containerd.service/kubepods-burstable-pod1.slice:cri-containerd:" + kId,
                                 "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-" + kId + ".scope",
                                 "/kubepods/burstable/pod0c6e/crio-" + kId + ".scope",
                                 "/kubepods/besteffort/podabc/" + kId}) {
    const auto ids = cgroup_container_ids("12:memory:/user.slice\n0::" + path + "\n");
    ASSERT_EQ(ids.size(), 1u) << path;
    EXPECT_EQ(ids[0], kId) << path;
  }
  EXPECT_TRUE(cgroup_container_ids("0::/\n4:memory:/process_api/959f55704685ef93359457f896b2f758\n").empty());
  // cgroup v1: the same id on every line counts once.
  EXPECT_EQ(cgroup_container_ids("4:memory:/docker/" + kId + "\n3:cpu:/docker/" + kId + "\n").size(), 1u);
}

TEST(CgroupIds, WhatLooksLikeAnId) {
  EXPECT_TRUE(looks_like_container_id(kId));
  EXPECT_TRUE(looks_like_container_id(kId.substr(0, 12)));
  EXPECT_FALSE(looks_like_container_id(kId.substr(0, 11)));
  EXPECT_FALSE(looks_like_container_id("kperf-kong-18000"));
  EXPECT_FALSE(looks_like_container_id(kId + "0"));
}

TEST_F(FakeProc, NamespacePids) {
  add(100, 1, "100\t7", "", "pid:[1]");
  add(200, 1, "", "", "pid:[1]");
  EXPECT_EQ(namespace_pids(100, root_), (std::vector<pid_t>{100, 7}));
  EXPECT_EQ(namespace_pids(200, root_), (std::vector<pid_t>{200}));  // no NSpid line: old kernel
  EXPECT_TRUE(namespace_pids(300, root_).empty());
}

TEST_F(FakeProc, ContainerProcessesInitAndNamespaceMapping) {
  add(10, 1, "10", "0::/init.scope\n", "pid:[1]");
  add(500, 400, "500\t1", "0::/docker/" + kId + "\n", "pid:[9]");  // the container's init (nginx master)
  add(501, 500, "501\t7", "0::/docker/" + kId + "\n", "pid:[9]");
  add(502, 500, "502\t8", "0::/docker/" + kId + "\n", "pid:[9]");
  add(600, 400, "600\t1", "0::/docker/" + kOther + "\n", "pid:[8]");
  add(601, 600, "601\t7", "0::/docker/" + kOther + "\n", "pid:[8]");

  const auto c = container_processes(kId.substr(0, 12), root_);
  EXPECT_EQ(c.id, kId);
  EXPECT_EQ(c.pids, (std::vector<pid_t>{500, 501, 502}));
  EXPECT_EQ(container_init(c.pids, root_), 500);
  EXPECT_TRUE(container_processes("ffffffffffff", root_).pids.empty());
  // "0" starts both ids: ambiguous (long enough prefixes are the caller's business).
  EXPECT_THROW(container_processes("", root_), std::runtime_error);

  // Pid 7 in the namespace of 500 is host pid 501, in the namespace of 600 host pid 601.
  EXPECT_EQ(host_pid_in_namespace_of(500, 7, root_), 501);
  EXPECT_EQ(host_pid_in_namespace_of(600, 7, root_), 601);
  EXPECT_EQ(host_pid_in_namespace_of(500, 1, root_), 500);
  EXPECT_FALSE(host_pid_in_namespace_of(500, 42, root_).has_value());
}

TEST_F(FakeProc, InitWithoutNSpidIsTheOneWhoseParentIsOutside) {
  add(700, 400, "", "0::/docker/" + kId + "\n", "pid:[9]");
  add(701, 700, "", "0::/docker/" + kId + "\n", "pid:[9]");
  EXPECT_EQ(container_init({701, 700}, root_), 700);
  EXPECT_FALSE(container_init({}, root_).has_value());
}

TEST_F(FakeProc, PerfMapOfAContainerizedProcessIsInsideIt) {
  add(501, 500, "501\t7", "", "pid:[9]");
  add(800, 1, "800", "", "pid:[1]");
  EXPECT_EQ(sym::perf_map_path(501, root_.string()), root_.string() + "/501/root/tmp/perf-7.map");
  EXPECT_EQ(sym::perf_map_path(800, root_.string()), "/tmp/perf-800.map");
  EXPECT_EQ(sym::perf_map_path(999, root_.string()), "/tmp/perf-999.map");
}

}  // namespace
}  // namespace kperf::prof
