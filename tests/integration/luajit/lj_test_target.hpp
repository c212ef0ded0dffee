// Test helpers for the LuaJIT walker: spawn a target process, stop it at random points
// with ptrace (SEIZE + INTERRUPT), read its registers in DWARF numbering, resume it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "profiler/luajit/user_regs.hpp"
#include "tests/support/temp_dir.hpp"  // TempDir, read_file, write_file

namespace kperf::test {

class ChildProcess {
public:
  // argv[0] is the program path; env entries "K=V" are added to the environment;
  // stdout and stderr go to out_path.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& out_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }
  bool alive();
  void stop();  // SIGKILL and reap
  // Sends sig (e.g. SIGTERM to an nginx master, which then stops its workers), waits up
  // to timeout for the exit, then SIGKILL. True if it exited on its own.
  bool stop_gracefully(int sig, std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
};

// Polls until file contains text (true) or timeout.
bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds timeout);

// ptrace seize of one thread; interrupt() stops it and reads registers.
class Tracer {
public:
  explicit Tracer(pid_t tid);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  bool interrupt(kperf::prof::lj::UserRegs& regs);
  void resume();

private:
  pid_t tid_;
  bool ok_ = false;
  bool stopped_ = false;
  std::string error_;
};

bool is_root();

}  // namespace kperf::test
