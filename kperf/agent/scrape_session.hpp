// The agent's one sampling session, shared by every pending scrape.
//
// Why one continuous recording with windows (and not a Recorder per request): a Recorder
// owns its BPF sampler, so a Recorder per request would load one sampler per overlapping
// scrape (20 scrapes: 20 programs, 20 perf events per CPU, 20 copies of kallsyms and of
// the symbol caches). Instead one Recorder runs while any scrape is pending and stops when
// none is left (nobody waits: nothing samples, nothing stays loaded). Each scrape is a
// window of that recording: when the recorder thread first sees it, it snapshots the
// trie's per-node counts and the recorder's per-thread counts (TrieSnapshot); when its N
// seconds are up, the trie briefly holds only the counts added since (WindowScope) while
// the pprof export (stacks_pprof_gz, with the per-thread counts added since) reads it. The
// export of a whole recording (recording_pprof_gz) cannot serve this: it exports all the
// recorder has counted since it started. So each scrape
// gets exactly the samples of its own N seconds, however the windows overlap, and all of
// this runs on the recorder's own thread (Recorder's on_poll hook): no locks around the
// trie. A window ends N seconds after its request arrived, as Go's handler does (scrapers
// time out on that); it starts when the recorder first sees it — within 50 ms while a
// sampler runs, after the sampler has loaded (about a second) when the session was idle,
// which the profile's duration and comments show.
//
// Keep-warm: with `keep_warm` > 0 the recording outlives its last window by that long, so
// a scraper with a steady rhythm (Grafana Alloy: seconds=14 every 15 s) finds the sampler
// loaded and its windows start at once, instead of paying the sampler's load (about a
// second, unsampled, on each scrape). 0 (the default): it stops as soon as nobody waits.
//
// The target: re-resolved (FollowedTarget) whenever the session is idle and when the
// recording ends because the master exited. Windows open when the master exits end early
// with what they have, their comments saying so; scrapes that arrive while no master runs
// wait for one until their N seconds have passed (then: 503 with the reason).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kperf/agent/followed_target.hpp"

namespace kperf::agent {

struct ScrapeResult {
  int status = 200;  // 200: body is gzipped pprof; else a one-line reason
  std::string body;
};

// One pending request for a profile of the next `seconds` seconds.
struct Scrape {
  int seconds = 0;
  std::chrono::steady_clock::time_point arrived;
  std::atomic<bool> cancelled{false};  // the client went away: drop the window
  std::function<void(ScrapeResult)> done;  // called once, on the session thread (not after cancel)
};

struct SessionStats {
  bool recording = false;       // a sampler is loaded now
  std::size_t pending = 0;      // scrapes waiting for their window to end
  std::uint64_t sessions = 0;   // recordings started since the agent started
  std::uint64_t served = 0;     // profiles answered
  std::uint64_t cancelled = 0;  // scrapes whose client went away
  std::size_t held_nodes = 0;   // stack trie nodes held (0 between windows: the trie is cut)
};

class ScrapeSession {
 public:
  ScrapeSession(FollowedTarget target, int frequency, std::chrono::seconds keep_warm = std::chrono::seconds(0));
  ~ScrapeSession();  // shutdown()
  ScrapeSession(const ScrapeSession&) = delete;
  ScrapeSession& operator=(const ScrapeSession&) = delete;

  // Queues a scrape; its `done` runs on the session thread when its window ends.
  std::shared_ptr<Scrape> submit(int seconds, std::function<void(ScrapeResult)> done);
  // The client of `s` went away; its window is dropped (and the sampler stops if it was the last).
  void cancel(const std::shared_ptr<Scrape>& s);

  TargetStatus target() const;
  SessionStats stats() const;
  int frequency() const { return frequency_; }

  // Stops sampling, answers every pending scrape with 503, joins the thread. Idempotent.
  void shutdown();

 private:
  struct Window;
  void loop();
  void record(pid_t master);
  void publish_target(const TargetStatus& s);
  // Answers (outside the lock) and counts.
  void answer(const std::shared_ptr<Scrape>& s, ScrapeResult r);

  FollowedTarget target_;  // session thread only
  const int frequency_;
  const std::chrono::seconds keep_warm_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Scrape>> queue_;  // submitted, window not opened yet
  TargetStatus published_;
  SessionStats stats_;
  bool shutdown_ = false;
  std::atomic<bool> stop_recording_{false};
  std::thread thread_;
};

}  // namespace kperf::agent
