// `kperf record`: samples on-CPU stacks of processes (-p PID, -a, or -- CMD) with the
// eBPF sampler and writes them as folded stacks, a flame graph SVG, a speedscope file or
// a gzipped pprof profile.
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "kperf/cli/output_file.hpp"
#include "kperf/report/pprof_export.hpp"
#include "kperf/run/signal_watcher.hpp"
#include "loadgen/duration.hpp"
#include "profiler/recorder.hpp"
#include "profiler/targets.hpp"

namespace kperf {

namespace {

struct RecordArgs {
  std::string pids;
  bool all = false;
  int frequency = 99;
  std::string duration;
  std::string output = "-";
  std::string format = "folded";
  bool per_pid = false;
  bool per_tid = false;
  uint32_t stack_size = 16 * 1024;
  uint32_t ring_mib = 0;  // 0: sized from -F, the stack size and the CPUs
  bool lua_lines = false;
  bool no_lua = false;
  std::vector<std::string> command;
};

void run_record(const RecordArgs& a) {
  prof::RecordOptions opts;
  if (!a.pids.empty()) opts.pids = prof::parse_pid_list(a.pids);
  opts.command = a.command;
  opts.sampler.all_processes = a.all;
  opts.sampler.frequency = a.frequency;
  opts.sampler.stack_size = a.stack_size;
  opts.sampler.ring_bytes = static_cast<size_t>(a.ring_mib) << 20;
  opts.root = a.per_tid ? prof::RootFrame::PerTid : a.per_pid ? prof::RootFrame::PerPid : prof::RootFrame::Process;
  opts.lua = !a.no_lua;
  opts.lua_lines = a.lua_lines;
  if (!a.duration.empty()) opts.duration_s = std::chrono::duration<double>(loadgen::parse_duration(a.duration)).count();
  const int modes = (opts.pids.empty() ? 0 : 1) + (opts.command.empty() ? 0 : 1) + (a.all ? 1 : 0);
  if (modes != 1) throw UsageError("give exactly one of -p PID[,PID...], -a or -- COMMAND [ARGS]");

  OutputFile out(a.output);  // fail on an unwritable path before recording
  SignalWatcher signals;  // Ctrl-C / SIGTERM end the recording; what was collected is written
  prof::Recorder recorder(std::move(opts), signals.stop());
  const auto started = std::chrono::system_clock::now();
  const auto summary = recorder.run();
  for (const auto& line : prof::lua_problem_lines(summary)) fmt::print(stderr, "kperf record: {}\n", line);
  fmt::print(stderr, "kperf record: {}\n", prof::format_summary(summary));
  if (a.format == "folded") {
    fg::write_folded(recorder.trie(), out.stream());
  } else if (a.format == "pprof") {
    PprofMeta meta;
    meta.frequency_hz = a.frequency;
    meta.start_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count();
    meta.comments.push_back("kperf record: " + prof::format_summary(summary));
    for (const auto& line : prof::lua_problem_lines(summary)) meta.comments.push_back("kperf record: " + line);
    const std::string pb = recording_pprof_gz(recorder, summary, meta);
    out.stream().write(pb.data(), static_cast<std::streamsize>(pb.size()));
  } else {
    if (recorder.trie().total() <= 0) throw std::runtime_error("no samples recorded: nothing to draw");
    fg::RenderOptions ropts;
    ropts.format = a.format == "svg" ? fg::OutputFormat::Svg : fg::OutputFormat::Speedscope;
    ropts.svg.title = "kperf record";
    fg::render(recorder.trie(), ropts, out.stream());
  }
  out.commit();
}

}  // namespace

void register_record(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  auto* cmd = app.add_subcommand(
      "record",
      "Sample on-CPU stacks (user + kernel) of processes with eBPF; write folded stacks, a\n"
      "flame graph SVG, a speedscope profile or a gzipped pprof profile.\n"
      "Needs root or CAP_BPF + CAP_PERFMON. An nginx master pid stands for its workers\n"
      "(followed across reloads and restarts).");
  cmd->add_option("-p,--pid", args->pids,
                  "Processes to sample, PID[,PID...]; an nginx master means its worker processes");
  cmd->add_flag("-a,--all", args->all, "Sample every process (except kperf itself)");
  cmd->add_option("-F,--freq", args->frequency, "Samples per second per CPU")
      ->transform(count_value("sampling frequency", 1, 100'000))
      ->default_val(99);
  cmd->add_option("-d,--duration", args->duration,
                  "Stop after this long (10, 10s, 500ms, 2m, 1h); default: until Ctrl-C, the "
                  "targets exit or the command exits")
      ->check(duration_value());
  cmd->add_option("-o,--output", args->output, "Output file ('-' = stdout); written only when recording succeeded")
      ->default_val("-");
  cmd->add_option("--format", args->format,
                  "Output format: folded (flamegraph.pl input), svg (interactive flame graph), "
                  "speedscope (JSON for speedscope.app) or pprof (gzipped profile.proto for go tool pprof, "
                  "Pyroscope, Parca; labels pid, tid, process, plugin, phase)")
      ->default_val("folded")
      ->check(CLI::IsMember({"folded", "svg", "speedscope", "pprof"}));
  auto* per_pid = cmd->add_flag("--per-pid", args->per_pid, "Root frame per process: NAME-PID");
  auto* per_tid = cmd->add_flag("--per-tid", args->per_tid, "Root frame per thread: NAME-PID/TID");
  per_pid->excludes(per_tid);
  cmd->add_option("--stack-size", args->stack_size,
                  "Bytes of user stack copied per sample for unwinding (multiple of 8, at most 65536)")
      ->default_val(16 * 1024)
      ->check(CLI::Range(8, 65536));
  cmd->add_option("--ring-buffer", args->ring_mib,
                  "BPF ring buffer size in MiB, rounded up to a power of 2; 0 (default): half a second of "
                  "samples at -F on every CPU, 4 to 64 MiB")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  auto* lua_lines = cmd->add_flag("--lua-lines", args->lua_lines,
                                  "Lua frames show the executing line instead of the function's first line");
  cmd->add_flag("--no-lua", args->no_lua,
                "Native frames only: do not splice LuaJIT frames into stacks that run Lua code")
      ->excludes(lua_lines);
  cmd->add_option("command", args->command, "-- COMMAND [ARGS...]: start COMMAND and record it until it exits");
  cmd->callback([args] { run_record(*args); });
}

}  // namespace kperf
