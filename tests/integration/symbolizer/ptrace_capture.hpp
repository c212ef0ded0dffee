// Test helper: starts a child process and captures samples from it without BPF —
// PTRACE_SEIZE + PTRACE_INTERRUPT, PTRACE_GETREGS, the stack top via process_vm_readv.
#pragma once

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "symbolizer/session.hpp"

namespace kperf::test {

struct CapturedSample {
  sym::Registers regs;
  uint64_t stack_base = 0;
  std::vector<uint8_t> stack;
  sym::StackCopy copy() const { return {stack_base, {stack.data(), stack.size()}}; }
};

// A child running `path args...`, stdout through a pipe; killed on destruction.
class TracedChild {
 public:
  TracedChild(const std::string& path, const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv{const_cast<char*>(path.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~TracedChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
    if (out_) fclose(out_);
  }
  TracedChild(const TracedChild&) = delete;
  TracedChild& operator=(const TracedChild&) = delete;

  pid_t pid() const { return pid_; }
  // Blocks until the child prints `line` (or exits); true if it did.
  bool wait_for_line(const std::string& line) {
    if (!out_) return false;
    char buf[256];
    while (fgets(buf, sizeof buf, out_)) {
      std::string s(buf);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      if (s == line) return true;
    }
    return false;
  }
  bool seize() { return ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) == 0; }

  // Interrupts the child, takes registers and up to `stack_bytes` of stack, resumes it.
  std::optional<CapturedSample> sample(size_t stack_bytes = 32768) {
    if (ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) return std::nullopt;
    int st = 0;
    if (waitpid(pid_, &st, __WALL) != pid_ || !WIFSTOPPED(st)) return std::nullopt;
    std::optional<CapturedSample> s;
    user_regs_struct r{};
    if (ptrace(PTRACE_GETREGS, pid_, nullptr, &r) == 0) {
      s.emplace();
      uint64_t* d = s->regs.r;
      d[0] = r.rax, d[1] = r.rdx, d[2] = r.rcx, d[3] = r.rbx, d[4] = r.rsi, d[5] = r.rdi;
      d[6] = r.rbp, d[7] = r.rsp, d[8] = r.r8, d[9] = r.r9, d[10] = r.r10, d[11] = r.r11;
      d[12] = r.r12, d[13] = r.r13, d[14] = r.r14, d[15] = r.r15, d[16] = r.rip;
      s->stack_base = r.rsp;
      s->stack.resize(stack_bytes);
      // Shrink until the read fits in the stack mapping.
      size_t want = stack_bytes;
      ssize_t got = -1;
      while (want >= 64) {
        iovec local{s->stack.data(), want};
        iovec remote{reinterpret_cast<void*>(r.rsp), want};
        got = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
        if (got > 0) break;
        want /= 2;
      }
      s->stack.resize(got > 0 ? static_cast<size_t>(got) : 0);
    }
    ptrace(PTRACE_CONT, pid_, nullptr, nullptr);
    return s;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

// The benchmarks' input: the test target `path qsort` seized, and up to `count` stacks
// captured from it (none when it never gets ready or ptrace is refused).
struct CapturedTarget {
  std::unique_ptr<TracedChild> child;
  std::vector<CapturedSample> samples;
  CapturedTarget(const std::string& path, int count)
      : child(std::make_unique<TracedChild>(path, std::vector<std::string>{"qsort"})) {
    if (!child->wait_for_line("ready") || !child->seize()) return;
    for (int i = 0; i < count; ++i)
      if (auto s = child->sample()) samples.push_back(std::move(*s));
  }
};

}  // namespace kperf::test
