// `kperf profile` run plan and execution: warmup, then per run sampling + load in step.
#include "kperf/run/profile_run.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/core.h>

#include "flamegraph/stack_ops.hpp"
#include "kperf/cli/command.hpp"

namespace kperf {

double RunPlan::planned_seconds() const {
  using Sec = std::chrono::duration<double>;
  return std::chrono::duration_cast<Sec>(warmup).count() +
         runs * std::chrono::duration_cast<Sec>(duration).count();
}

loadgen::LoadConfig RunPlan::load_for(const std::string& base_url, std::chrono::microseconds d) const {
  loadgen::LoadConfig c = load;
  c.url = base_url + path;
  c.duration = d;
  return c;
}

RunPlan make_plan(const Workload& workload, const PlanOverrides& o) {
  const LoadSpec& spec = workload.load();
  RunPlan plan;
  plan.runs = o.runs.value_or(spec.runs);
  plan.duration = o.duration.value_or(std::chrono::duration_cast<std::chrono::microseconds>(spec.duration));
  plan.warmup = o.warmup;
  plan.frequency = o.frequency;
  plan.path = spec.path.empty() ? "/" : spec.path;
  if (plan.runs < 1) throw UsageError(fmt::format("--runs must be at least 1 (got {})", plan.runs));
  if (plan.duration.count() <= 0) throw UsageError("--duration must be positive");
  if (plan.warmup.count() < 0) throw UsageError("--warmup must not be negative");

  loadgen::LoadConfig& c = plan.load;
  c.threads = o.threads.value_or(spec.threads);
  c.connections = o.connections.value_or(spec.connections);
  c.rate = o.rate ? *o.rate : spec.rate.value_or(0.0);
  c.method = spec.method;
  for (const auto& [name, value] : spec.headers) c.headers.push_back(name + ": " + value);
  try {
    loadgen::validate(plan.load_for("http://127.0.0.1:1", plan.duration));
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("workload '{}': {}", workload.name(), e.what()));
  }
  return plan;
}

namespace {

std::string run_line(const loadgen::LoadResult& r, const prof::RecordSummary& s, bool interrupted, bool with_load) {
  const std::string load = with_load ? fmt::format("{} requests, {:.1f} req/s, {} errors, ", r.requests, r.rps(),
                                                   r.errors.socket_total() + r.errors.status)
                                     : std::string();
  return fmt::format("{:.1f}s, {}{} samples ({} lost){}", r.runtime_s, load, s.stacks.samples, s.bpf.lost,
                     interrupted ? " [interrupted]" : "");
}

// No load: waits for the duration (or a stop), showing progress; `tick` runs every 100 ms.
template <typename Tick>
loadgen::LoadResult sample_only(std::chrono::microseconds duration, const std::atomic<bool>& stop,
                                ProgressDisplay& progress, Tick&& tick) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + duration;
  loadgen::LoadResult r;
  while (Clock::now() < end) {
    if (stop.load()) {
      r.stopped_early = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tick();  // from this thread: the progress display is not shared with the sampler
    progress.update(std::chrono::duration<double>(Clock::now() - start).count(), 0, 0, 0);
  }
  r.runtime_s = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace

ProfileResult run_profile(const RunPlan& plan, const std::string& base_url, pid_t master_pid,
                          const std::atomic<bool>& stop, ProgressDisplay& progress) {
  ProfileResult out;
  out.runs_planned = plan.runs;
  const auto on_progress = [&progress](const loadgen::Progress& p) {
    progress.update(p.elapsed_s, p.current_rps, p.requests, p.errors);
  };
  const auto seconds = [](std::chrono::microseconds d) { return std::chrono::duration<double>(d).count(); };
  const auto phase = [&plan](std::string name) { return plan.label.empty() ? name : plan.label + ": " + name; };

  // One sampling session for the warm-up and every run: the BPF program is loaded once,
  // and the warm-up's samples (dropped) warm the symbol, CFI and LuaJIT caches, so that
  // no measured run pays for them. Each run gets a trie of its own.
  prof::RecordOptions ropts;
  ropts.pids = {master_pid};
  ropts.sampler.frequency = plan.frequency;
  ropts.root = plan.root;
  std::mutex changes_mutex;
  std::vector<std::string> changes;
  ropts.on_targets_changed = [&](const prof::TargetChanges& c) {
    std::string line = "workers changed:";
    for (pid_t p : c.added) line += fmt::format(" +{}", p);
    for (pid_t p : c.removed) line += fmt::format(" -{}", p);
    const std::lock_guard<std::mutex> lock(changes_mutex);
    changes.push_back(std::move(line));
  };
  size_t shown = 0;  // changes printed so far (from this thread only)
  const auto show_changes = [&] {
    const std::lock_guard<std::mutex> lock(changes_mutex);
    for (; shown < changes.size(); ++shown) {
      progress.message(changes[shown]);
      out.worker_changes.push_back(changes[shown]);
    }
  };
  // A run ends with its load (run_stop); the duration is only a backstop.
  ropts.duration_s = seconds(std::max(plan.warmup, plan.duration)) + 30;
  std::atomic<bool> run_stop{false};
  prof::Recorder recorder(std::move(ropts), run_stop);
  const auto load_progress = [&](const loadgen::Progress& p) {
    show_changes();  // progress is called from this thread
    on_progress(p);
  };
  // Samples on another thread while `load` runs on this one.
  const auto sampled = [&](auto&& load) {
    run_stop.store(false);
    std::pair<loadgen::LoadResult, prof::RecordSummary> r;
    std::exception_ptr record_error, load_error;
    std::thread sampler([&] {
      try {
        r.second = recorder.run();
      } catch (...) {
        record_error = std::current_exception();
      }
    });
    try {
      r.first = load();
    } catch (...) {
      load_error = std::current_exception();
    }
    run_stop.store(true);
    sampler.join();
    show_changes();
    if (load_error) std::rethrow_exception(load_error);
    if (record_error) std::rethrow_exception(record_error);
    return r;
  };

  if (plan.warmup.count() > 0 && !stop.load()) {
    progress.begin(phase("warmup"), seconds(plan.warmup));
    auto r = sampled([&] { return loadgen::run_load(plan.load_for(base_url, plan.warmup), load_progress, &stop); })
                 .first;
    progress.end(fmt::format("{:.1f}s, {} requests, {:.1f} req/s (not measured){}", r.runtime_s, r.requests,
                             r.rps(), r.stopped_early ? " [interrupted]" : ""));
    out.warmup = std::move(r);
  }
  out.warmup_done = !stop.load();

  for (int i = 1; i <= plan.runs && !stop.load(); ++i) {
    if (out.start_unix_ns == 0) {
      out.start_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    }
    progress.begin(phase(fmt::format("run {}/{}", i, plan.runs)), seconds(plan.duration));
    auto [load, summary] = sampled([&] {
      return plan.with_load ? loadgen::run_load(plan.load_for(base_url, plan.duration), load_progress, &stop)
                            : sample_only(plan.duration, stop, progress, show_changes);
    });

    RunResult run;
    run.index = i;
    run.interrupted = load.stopped_early || stop.load();
    run.load = std::move(load);
    run.record = summary;
    // The recorder is stopped when the load ends: "interrupted" only if a signal cut it.
    if (run.record.end_reason == prof::EndReason::Interrupted && !run.interrupted)
      run.record.end_reason = prof::EndReason::Duration;
    fg::merge_stacks(recorder.trie(), run.stacks);
    fg::merge_stacks(run.stacks, out.combined);
    merge_pprof_stacks(recorder.trie(), recorder.thread_samples(), recorder.frame_origins(), out.combined,
                       out.pprof);
    progress.end(run_line(run.load, run.record, run.interrupted, plan.with_load));
    out.runs.push_back(std::move(run));
  }
  out.interrupted = stop.load() || static_cast<int>(out.runs.size()) < plan.runs ||
                    (!out.runs.empty() && out.runs.back().interrupted);
  return out;
}

}  // namespace kperf
