// The session thread: waits for scrapes, follows the target, runs one Recorder while any
// scrape is pending and answers each window from it (see scrape_session.hpp for why).
#include "kperf/agent/scrape_session.hpp"

#include <optional>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "kperf/agent/trie_window.hpp"
#include "kperf/report/pprof_export.hpp"
#include "profiler/recorder.hpp"

namespace kperf::agent {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kIdleRefresh = std::chrono::seconds(1);        // target re-resolved while idle
constexpr auto kWaitingRefresh = std::chrono::milliseconds(200);  // ... while scrapes wait for one
constexpr size_t kEventsInComments = 5;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

struct ScrapeSession::Window {
  std::shared_ptr<Scrape> scrape;
  std::shared_ptr<const TrieSnapshot> since;  // shared by the windows opened in one poll
  Clock::time_point start;
  std::chrono::system_clock::time_point start_wall;
  std::vector<std::string> notes;  // worker changes seen during the window
};

ScrapeSession::ScrapeSession(FollowedTarget target, int frequency, std::chrono::seconds keep_warm)
    : target_(std::move(target)), frequency_(frequency), keep_warm_(keep_warm), published_(target_.status()) {
  thread_ = std::thread([this] { loop(); });
}

ScrapeSession::~ScrapeSession() { shutdown(); }

std::shared_ptr<Scrape> ScrapeSession::submit(int seconds, std::function<void(ScrapeResult)> done) {
  auto s = std::make_shared<Scrape>();
  s->seconds = seconds;
  s->arrived = Clock::now();
  s->done = std::move(done);
  {
    std::lock_guard lk(mu_);
    if (!shutdown_) {
      queue_.push_back(s);
      ++stats_.pending;
      cv_.notify_all();
      return s;
    }
  }
  s->done(ScrapeResult{503, "kperf agent is shutting down"});
  return s;
}

void ScrapeSession::cancel(const std::shared_ptr<Scrape>& s) {
  s->cancelled = true;
  std::lock_guard lk(mu_);
  cv_.notify_all();
}

TargetStatus ScrapeSession::target() const {
  std::lock_guard lk(mu_);
  return published_;
}

SessionStats ScrapeSession::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void ScrapeSession::publish_target(const TargetStatus& s) {
  std::lock_guard lk(mu_);
  published_ = s;
}

void ScrapeSession::answer(const std::shared_ptr<Scrape>& s, ScrapeResult r) {
  {
    std::lock_guard lk(mu_);
    if (s->cancelled) {
      ++stats_.cancelled;
      return;
    }
    if (r.status == 200) ++stats_.served;
  }
  s->done(std::move(r));
}

void ScrapeSession::shutdown() {
  {
    std::lock_guard lk(mu_);
    shutdown_ = true;
    cv_.notify_all();
  }
  stop_recording_ = true;
  if (thread_.joinable()) thread_.join();
}

void ScrapeSession::loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (queue_.empty()) cv_.wait_for(lk, kIdleRefresh, [&] { return shutdown_ || !queue_.empty(); });
      if (shutdown_) break;
    }
    const TargetStatus st = target_.refresh();
    publish_target(st);
    std::vector<std::pair<std::shared_ptr<Scrape>, ScrapeResult>> answers;
    bool waiting = false;
    {
      std::lock_guard lk(mu_);
      for (auto it = queue_.begin(); it != queue_.end();) {
        const auto& s = *it;
        if (s->cancelled) {
          ++stats_.cancelled;
        } else if (!st.ok && Clock::now() >= s->arrived + std::chrono::seconds(s->seconds)) {
          answers.emplace_back(s, ScrapeResult{503, fmt::format("no target to sample: {}", st.description)});
        } else {
          ++it;
          continue;
        }
        it = queue_.erase(it);
      }
      waiting = !queue_.empty();
      stats_.pending = queue_.size();
    }
    for (auto& [s, r] : answers) answer(s, std::move(r));
    if (!waiting) continue;
    if (!st.ok) {  // scrapes wait for the target to come back (a restart)
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, kWaitingRefresh, [&] { return shutdown_; });
      continue;
    }
    record(st.master);
  }
  std::deque<std::shared_ptr<Scrape>> left;
  {
    std::lock_guard lk(mu_);
    left.swap(queue_);
    stats_.pending = 0;
  }
  for (auto& s : left) answer(s, ScrapeResult{503, "kperf agent is shutting down"});
}

void ScrapeSession::record(pid_t master) {
  const std::string described = target_.status().description;  // this master's, not a later one's
  std::vector<Window> windows;
  std::optional<prof::Recorder> rec;
  fg::StackTrie* trie = nullptr;
  std::vector<std::pair<std::shared_ptr<Scrape>, ScrapeResult>> answers;
  std::optional<Clock::time_point> unused_since;  // no window open or queued since then (keep-warm)

  // The profile of window `w`, now.
  const auto profile = [&](Window& w, fg::StackTrie& t) -> ScrapeResult {
    const double secs = seconds_since(w.start);
    const TargetStatus& st = target_.status();
    PprofMeta meta;
    meta.frequency_hz = frequency_;
    meta.start_unix_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(w.start_wall.time_since_epoch()).count();
    meta.seconds = secs;
    meta.comments.push_back(fmt::format("kperf agent: nginx master {} ({})", master, described));
    meta.comments.push_back(fmt::format("window: {} s asked, {:.2f} s sampled at {} Hz from {}", w.scrape->seconds,
                                        secs, frequency_, utc_stamp(w.start_wall)));
    if (const double late = std::chrono::duration<double>(w.start - w.scrape->arrived).count(); late >= 0.2) {
      meta.comments.push_back(fmt::format("sampling began {:.1f} s after the request (the sampler was loaded for it); "
                                          "the profile ends when the request's {} s do",
                                          late, w.scrape->seconds));
    }
    for (const auto& n : w.notes) meta.comments.push_back(n);
    const size_t first = st.events.size() > kEventsInComments ? st.events.size() - kEventsInComments : 0;
    for (size_t i = first; i < st.events.size(); ++i) meta.comments.push_back("target: " + st.events[i]);
    try {
      const auto threads = w.since->threads_since(rec->thread_samples());
      WindowScope scope(t, *w.since);
      return ScrapeResult{200, stacks_pprof_gz(t, threads, rec->frame_origins(), meta)};
    } catch (const std::exception& e) {
      return ScrapeResult{500, fmt::format("pprof export failed: {}", e.what())};
    }
  };

  // Opens windows for new scrapes, drops abandoned ones, answers those that are due, and
  // stops the recording when nobody waits. On the recorder's thread.
  const auto tick = [&](fg::StackTrie& t, bool ended) {
    if (!ended) {
      std::deque<std::shared_ptr<Scrape>> fresh;
      {
        std::lock_guard lk(mu_);
        fresh.swap(queue_);
      }
      std::shared_ptr<const TrieSnapshot> snap;
      for (auto& s : fresh) {
        if (s->cancelled) {
          std::lock_guard lk(mu_);
          ++stats_.cancelled;
          continue;
        }
        if (!snap) snap = std::make_shared<const TrieSnapshot>(t, rec->thread_samples());
        windows.push_back(Window{s, snap, Clock::now(), std::chrono::system_clock::now(), {}});
      }
    }
    for (auto it = windows.begin(); it != windows.end();) {
      const bool cancelled = it->scrape->cancelled;
      if (cancelled || ended || Clock::now() >= it->scrape->arrived + std::chrono::seconds(it->scrape->seconds)) {
        if (cancelled) {
          std::lock_guard lk(mu_);
          ++stats_.cancelled;
        } else {
          answers.emplace_back(it->scrape, profile(*it, t));
        }
        it = windows.erase(it);
      } else {
        ++it;
      }
    }
    // Nobody needs what was sampled so far: a long-lived session holds only open windows.
    if (windows.empty() && t.size() > 1) rec->cut();
    {
      std::lock_guard lk(mu_);
      stats_.held_nodes = t.size() - 1;
      stats_.pending = windows.size() + queue_.size();
      if (!windows.empty() || !queue_.empty()) {
        unused_since.reset();
      } else if (!unused_since) {
        unused_since = Clock::now();
      }
      if (shutdown_ || (unused_since && Clock::now() >= *unused_since + keep_warm_)) stop_recording_ = true;
    }
    for (auto& [s, r] : answers) answer(s, std::move(r));
    answers.clear();
  };

  prof::RecordOptions opts;
  opts.sampler.frequency = frequency_;
  opts.pids = {master};
  opts.root = prof::RootFrame::Process;
  opts.on_targets_changed = [&](const prof::TargetChanges& c) {
    std::string note = utc_stamp(std::chrono::system_clock::now()) + " workers changed:";
    if (!c.added.empty()) note += fmt::format(" +{}", fmt::join(c.added, ",+"));
    if (!c.removed.empty()) note += fmt::format(" -{}", fmt::join(c.removed, ",-"));
    for (auto& w : windows) w.notes.push_back(note);
  };
  opts.on_poll = [&](fg::StackTrie& t) {
    trie = &t;
    tick(t, false);
  };
  stop_recording_ = false;
  const auto fail_all = [&](const std::string& why) {
    std::deque<std::shared_ptr<Scrape>> queued;
    {
      std::lock_guard lk(mu_);
      queued.swap(queue_);
      stats_.pending = 0;
      stats_.recording = false;
    }
    for (auto& w : windows) answer(w.scrape, ScrapeResult{500, why});
    for (auto& s : queued) answer(s, ScrapeResult{500, why});
    windows.clear();
  };
  try {
    rec.emplace(std::move(opts), stop_recording_);
  } catch (const std::exception& e) {
    if (prof::process_alive(master)) fail_all(fmt::format("cannot sample nginx master {}: {}", master, e.what()));
    return;  // else: it exited meanwhile; the loop looks for the next one
  }
  {
    std::lock_guard lk(mu_);
    ++stats_.sessions;
    stats_.recording = true;
  }
  prof::RecordSummary summary;
  try {
    summary = rec->run();
  } catch (const std::exception& e) {
    fail_all(fmt::format("sampling nginx master {} failed: {}", master, e.what()));
    return;
  }
  if (summary.end_reason == prof::EndReason::TargetsExited && trie != nullptr) {
    target_.refresh();  // notes the exit in the target's events
    publish_target(target_.status());
    for (auto& w : windows) {
      w.notes.push_back(fmt::format(
          "target exited {:.1f} s into this window: nginx master {} is gone, so this profile holds only the "
          "samples before; the agent follows {} and samples the next master",
          seconds_since(w.start), master, target_.spec()));
    }
    tick(*trie, true);
  }
  for (auto& w : windows) answer(w.scrape, ScrapeResult{503, "kperf agent is shutting down"});
  windows.clear();
  rec.reset();
  std::lock_guard lk(mu_);
  stats_.recording = false;
  stats_.pending = queue_.size();
}

}  // namespace kperf::agent
