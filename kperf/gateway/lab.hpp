// The lab driver: brings up the lab gateway (upstream nginx + Kong-shaped Lua gateway
// nginx, both on free 127.0.0.1 ports in a private run directory) for a workload,
// reloads it, and always tears it down (RAII).
//
// How `kperf profile` should use it: construct the Lab on the main thread in the scope
// that owns the run (the constructor returns once both servers answer, or throws one
// clear line and leaves nothing running); watch SIGINT/SIGTERM with SignalWatcher
// (kperf/run/signal_watcher.hpp) and poll its stop() in the run loop; on a signal or an error
// just leave the scope — ~Lab() stops both nginx (SIGQUIT, then SIGTERM, then SIGKILL
// of the process group, bounded) and removes the temporary run directory. Copy
// error_log() into the profile's outputs before that. If kperf itself is killed, the
// nginx masters get SIGTERM from the kernel (PR_SET_PDEATHSIG, tied to the thread
// that created the Lab), and a terminal's Ctrl-C never reaches them directly (they
// run in their own process groups).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kperf/gateway/lab_nginx.hpp"
#include "kperf/run/workload.hpp"

namespace kperf {

struct LabOptions {
  int workers = 2;           // gateway worker processes
  int upstream_workers = 1;  // upstream worker processes
  // false: only the upstream (what Kong proxies to, or the baseline's target); the lab's
  // own gateway is not started and the workload's lab limits do not apply.
  bool with_gateway = true;
  // Empty: a fresh $TMPDIR/kperf-lab-XXXXXX, removed by ~Lab() unless keep_run_dir.
  // Given: created if needed, never removed.
  std::filesystem::path run_dir;
  bool keep_run_dir = false;
  std::chrono::milliseconds start_timeout{15000};
  std::filesystem::path nginx = "/usr/sbin/nginx";
  std::filesystem::path modules_dir = "/usr/lib/nginx/modules";  // ndk + lua modules
};

// Throws "... install nginx libnginx-mod-http-lua lua-cjson: scripts/setup" when the
// nginx binary, the ndk/lua modules or lua-cjson are missing.
void check_lab_prerequisites(const LabOptions& options);

class Lab {
 public:
  explicit Lab(const Workload& workload, LabOptions options = {});
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // Re-reads the gateway's conf (SIGHUP to the same master) and returns once a full set
  // of new workers is running and answering. With a workload, its config is written
  // first (same ports, same upstream). Throws with the error log's complaint if the
  // new config is rejected (the old workers then keep serving).
  void reload();
  void reload(const Workload& workload);

  // Stops the gateway, then the upstream; idempotent. ~Lab() calls it.
  void stop() noexcept;

  std::string gateway_url() const;   // http://127.0.0.1:PORT
  std::string upstream_url() const;  // http://127.0.0.1:PORT
  // Where the workload's load goes: the gateway, or the upstream for `target: upstream`.
  std::string target_url() const;
  int gateway_port() const { return gateway_port_; }
  int upstream_port() const { return upstream_port_; }

  pid_t gateway_master_pid() const { return gateway_.pid(); }
  pid_t upstream_master_pid() const { return upstream_.pid(); }
  std::vector<pid_t> gateway_worker_pids() const { return gateway_.workers(); }

  const std::filesystem::path& run_dir() const { return run_dir_; }
  std::filesystem::path error_log() const;           // the gateway's
  std::filesystem::path access_log() const;          // the gateway's, one line per request
  std::filesystem::path upstream_error_log() const;
  std::filesystem::path config_json() const;         // what kong/db/declarative.lua loads

  // Lines of the gateway's and upstream's error logs at [error] level or worse.
  std::vector<std::string> error_log_problems() const;

  const Workload& workload() const { return *workload_; }

 private:
  void start();
  void render(const std::string& template_name, const std::filesystem::path& out, int workers) const;
  void write_config() const;
  void wait_ready(NginxProcess& proc, const char* what, int port, const char* probe,
                  const std::filesystem::path& log, std::chrono::milliseconds timeout);
  void wait_workers(NginxProcess& proc, const char* what, int count);

  std::unique_ptr<Workload> workload_;
  LabOptions options_;
  std::filesystem::path lab_dir_;
  std::filesystem::path run_dir_;
  bool remove_run_dir_ = false;
  int gateway_port_ = 0;
  int upstream_port_ = 0;
  NginxProcess upstream_;
  NginxProcess gateway_;
};

}  // namespace kperf
