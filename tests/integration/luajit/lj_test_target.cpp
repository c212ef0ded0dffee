// Test helpers: spawning targets, ptrace stops with register reads, temp dirs.
#include "lj_test_target.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kperf::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                           const std::string& out_path) {
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test process
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(av[0], av.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() { stop(); }

bool ChildProcess::alive() {
  if (pid_ <= 0) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_ && (WIFEXITED(st) || WIFSIGNALED(st))) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int st;
  while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

bool ChildProcess::stop_gracefully(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return true;
  kill(pid_, sig);
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (!alive()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  return false;
}

bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (read_file(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

Tracer::Tracer(pid_t tid) : tid_(tid) {
  if (ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
    error_ = std::string("PTRACE_SEIZE: ") + std::strerror(errno);
    return;
  }
  ok_ = true;
}

Tracer::~Tracer() {
  if (!ok_) return;
  if (!stopped_) {
    ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
    int st;
    waitpid(tid_, &st, __WALL);
  }
  ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
}

bool Tracer::interrupt(kperf::prof::lj::UserRegs& regs) {
  if (!ok_) return false;
  if (ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return false;
  for (;;) {
    int st = 0;
    if (waitpid(tid_, &st, __WALL) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      ok_ = false;
      return false;
    }
    if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_STOP) break;
    // A signal-delivery stop: pass the signal on and keep waiting for our stop.
    if (WIFSTOPPED(st)) ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void*>(long(WSTOPSIG(st))));
  }
  stopped_ = true;
  user_regs_struct u{};
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, &u) != 0) return false;
  auto& r = regs.r;
  r[0] = u.rax; r[1] = u.rdx; r[2] = u.rcx; r[3] = u.rbx; r[4] = u.rsi; r[5] = u.rdi; r[6] = u.rbp;
  r[7] = u.rsp; r[8] = u.r8; r[9] = u.r9; r[10] = u.r10; r[11] = u.r11; r[12] = u.r12; r[13] = u.r13;
  r[14] = u.r14; r[15] = u.r15; r[16] = u.rip;
  return true;
}

void Tracer::resume() {
  if (!ok_ || !stopped_) return;
  ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
  stopped_ = false;
}

bool is_root() { return geteuid() == 0; }

}  // namespace kperf::test
