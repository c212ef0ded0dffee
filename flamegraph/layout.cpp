// layout_stacks: a flow over ordered stacks. Frames shared with the previous stack stay
// open; the others close (becoming boxes) or open, exactly as flamegraph.pl merges.
#include "flamegraph/layout.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "flamegraph/stack_order.hpp"
#include "flamegraph/svg.hpp"

namespace kperf::fg {

namespace {

class Flow {
 public:
  Flow(Layout& out, double min_samples, bool differential)
      : out_(out), min_(min_samples), diff_(differential) {}

  void add(std::span<const FrameId> path, double count, double base, bool has_base) {
    double d = 0;
    if (has_base) {
      d = count - base;
      out_.max_delta = std::max(out_.max_delta, std::fabs(d));
    }
    std::size_t same = 0;
    while (same < open_.size() && same < path.size() && open_[same].frame == path[same]) ++same;
    close_to(same);
    for (std::size_t i = same; i < path.size(); ++i) {
      open_.push_back(Open{path[i], time_, i + 1 == path.size() ? d : 0.0, has_base});
    }
    time_ += count;
  }

  void finish(double total) {
    close_to(0);
    if (total >= min_) {
      out_.boxes.push_back(Box{FrameTable::kNone, 0, 0, total, 0, diff_});  // (unused: "all")
    }
  }

 private:
  struct Open {
    FrameId frame;
    double start;
    double delta;
    bool has_delta;
  };

  void close_to(std::size_t depth) {
    while (open_.size() > depth) {
      const Open& o = open_.back();
      if (time_ - o.start >= min_) {
        const auto d = static_cast<std::uint32_t>(open_.size());
        out_.boxes.push_back(Box{o.frame, d, o.start, time_, o.delta, o.has_delta});
        out_.max_depth = std::max(out_.max_depth, d);
      }
      open_.pop_back();
    }
  }

  Layout& out_;
  double min_;
  bool diff_;
  double time_ = 0;
  std::vector<Open> open_;
};

}  // namespace

Layout layout_stacks(const StackTrie& trie, const LayoutOptions& opts) {
  Layout out;
  out.differential = trie.differential();
  out.total = trie.total();
  // Room for a small graph's boxes in one allocation (a big one's grow as they come:
  // pruning may keep few of its nodes).
  out.boxes.reserve(std::min<std::size_t>(trie.size() + 1, 1024));
  Flow flow(out, opts.min_samples, trie.differential());
  if (opts.flamechart) {
    if (!trie.records_order()) {
      throw std::logic_error("flame chart layout needs a StackTrie that records order");
    }
    std::vector<FrameId> path;
    for (const auto& e : trie.order()) {
      trie.path(e.node, path);
      flow.add(path, e.count, e.base, e.has_base);
    }
  } else if (trie.differential()) {
    visit_sorted(trie, [&](NodeId id, std::span<const FrameId> path) {
      const auto& n = trie.node(id);
      flow.add(path, n.self, n.base, n.has_base);
    });
  } else {
    visit_sorted_coarse(trie, opts.min_samples, [&](std::span<const FrameId> path, double count) {
      flow.add(path, count, count, false);
    });
  }
  flow.finish(out.total);
  std::sort(out.boxes.begin(), out.boxes.end(), [](const Box& a, const Box& b) {
    if (a.depth != b.depth) return a.depth < b.depth;
    return a.start < b.start;
  });
  return out;
}

double min_samples_for(std::string_view minwidth, double total, double image_width) {
  std::string_view num = minwidth;
  const bool percent = !num.empty() && num.back() == '%';
  if (percent) num.remove_suffix(1);
  // flamegraph.pl accepts [0-9.]+ ; a plain decimal number here.
  double v = 0;
  const auto r = std::from_chars(num.data(), num.data() + num.size(), v, std::chars_format::fixed);
  if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size() || v < 0 ||
      !std::isfinite(v) || num.find_first_not_of("0123456789.") != std::string_view::npos) {
    throw std::invalid_argument("--minwidth must be a number of pixels or a percentage, e.g. 0.1 or 0.5%: '" +
                                std::string(minwidth) + "'");
  }
  if (percent) return total * v / 100.0;
  const double per_sample = (image_width - 2 * kSvgXPad) / total;
  return v / per_sample;
}

}  // namespace kperf::fg
