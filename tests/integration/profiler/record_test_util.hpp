// Helpers for the `kperf record` integration tests: run a command with its output in
// files, read folded stacks, free loopback ports, temp dirs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kperf::test {

struct Stack {
  std::vector<std::string> frames;  // root first
  uint64_t count = 0;
};

std::vector<Stack> parse_folded(const std::string& text);
uint64_t total_samples(const std::vector<Stack>& stacks);
// `needle` appears as consecutive frames of `stack`.
bool has_sequence(const Stack& stack, const std::vector<std::string>& needle);
bool has_frame(const Stack& stack, const std::string& frame);

std::string read_file(const std::string& path);

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A process started with fork/exec (stdout/stderr to files if given); killed (SIGKILL
// to its process group) and reaped on destruction unless waited for.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& out_path = "",
          const std::string& err_path = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  // Waits up to `seconds`; returns the exit status (0-255), 128+signal, or -1 on timeout.
  int wait(double seconds);
  void signal(int sig);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Runs argv to completion (bounded by `seconds`), capturing stdout and stderr.
struct RunResult {
  int status = -1;
  std::string out, err;
  double seconds = 0;
};
RunResult run(const std::vector<std::string>& argv, double seconds = 60);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();
// Polls until 127.0.0.1:port accepts connections (up to `seconds`).
bool wait_for_port(int port, double seconds);

}  // namespace kperf::test
