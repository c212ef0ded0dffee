// StackTrie: the stack model — a trie of interned frames with a sample count per stack
// end. Parsers, the profiler and `kperf diff` add stacks to it; layout and exporters
// read it. Optionally differential (a "before" count per stack beside the count) and
// optionally remembering the order stacks were added (for flame charts).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "flamegraph/frame_table.hpp"

namespace kperf::fg {

using NodeId = std::uint32_t;

class StackTrie {
 public:
  // A node as callers see it (assembled from compact storage: copy, don't keep).
  struct Node {
    FrameId frame;        // FrameTable::kNone for the root
    NodeId parent;        // kNoNode for the root
    NodeId first_child;   // kNoNode when none; siblings are not sorted
    NodeId next_sibling;  // kNoNode when last
    bool terminal;        // some added stack ended here (even with a zero count)
    bool has_base;        // one of those stacks had a "before" count (differential)
    double self;          // count of stacks ending here (the graph's widths)
    double base;          // differential only: the "before" count of those stacks
  };
  // One add() call, in order (flame charts lay out stacks in input order).
  struct Entry {
    NodeId node;
    double count;
    double base;
    bool has_base;
  };

  static constexpr NodeId kRoot = 0;
  static constexpr NodeId kNoNode = ~NodeId{0};

  explicit StackTrie(bool record_order = false);

  FrameTable& frames() { return frames_; }
  const FrameTable& frames() const { return frames_; }

  // Adds a stack, outermost frame first, with its count; returns its leaf node.
  NodeId add(std::span<const FrameId> stack, double count);
  NodeId add(std::span<const std::string_view> stack, double count);
  // Differential: `base` is the "before" count, `count` the "after" (widths come from
  // it). Marks the trie differential. (A trie may mix both kinds, as flamegraph.pl's
  // input may: only differential stacks get a delta.)
  NodeId add_diff(std::span<const FrameId> stack, double base, double count);
  NodeId add_diff(std::span<const std::string_view> stack, double base, double count);

  // Building blocks for callers that walk their own stacks: find-or-create the child
  // of `parent` for `frame`, and record a stack ending at `node`.
  NodeId child(NodeId parent, FrameId frame);
  // The child of `parent` for `frame` if it exists, else kNoNode.
  NodeId find_child(NodeId parent, FrameId frame) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = mix(parent, frame) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id == kNoNode) return kNoNode;
      if (s.parent == parent && s.frame == frame) return s.id;
    }
  }
  // Hints the cache that child(parent, frame) comes soon (batched inserts overlap
  // their memory latency this way).
  void prefetch_child(NodeId parent, FrameId frame) const {
    __builtin_prefetch(&slots_[mix(parent, frame) & (slots_.size() - 1)]);
  }
  // Sizes the child index for about `nodes` nodes up front (saves rehashing).
  void reserve(std::size_t nodes);
  // `has_base`: `base` is a real "before" count (a differential stack).
  void record(NodeId node, double count, double base, bool has_base);

  Node node(NodeId id) const {
    const Core& c = core(id);
    return Node{c.frame, c.parent, c.first_child, c.next_sibling, (flags_[id] & kTerminal) != 0,
                (flags_[id] & kHasBase) != 0, c.self, base_.empty() ? c.self : base_[id]};
  }
  std::size_t size() const { return size_; }
  double total() const { return total_; }
  double total_base() const { return total_base_; }
  bool differential() const { return differential_; }
  void set_differential(bool on) { differential_ = on; }
  bool records_order() const { return record_order_; }
  const std::vector<Entry>& order() const { return order_; }

  // Sets every "before" count to floor(count * num / den), like difffolded.pl -n, and
  // recomputes total_base().
  void scale_base(double num, double den);

  // Frames from the root's child down to `id` (outermost first), into `out`.
  void path(NodeId id, std::vector<FrameId>& out) const;

 private:
  // 24 bytes per node in fixed chunks (no reallocation copies of a big vector); flags
  // and "before" counts (differential tries only) beside.
  struct Core {
    FrameId frame;
    NodeId parent;
    NodeId first_child;
    NodeId next_sibling;
    double self;
  };
  static constexpr unsigned kChunkBits = 12;
  static constexpr std::uint8_t kTerminal = 1;
  static constexpr std::uint8_t kHasBase = 2;

  Core& core(NodeId id) { return chunks_[id >> kChunkBits][id & ((1u << kChunkBits) - 1)]; }
  const Core& core(NodeId id) const { return chunks_[id >> kChunkBits][id & ((1u << kChunkBits) - 1)]; }
  NodeId new_node(FrameId frame, NodeId parent);
  void grow();
  void rehash(std::size_t slots);

  FrameTable frames_;
  std::vector<std::unique_ptr<Core[]>> chunks_;
  std::size_t size_ = 0;
  std::vector<std::uint8_t> flags_;
  std::vector<double> base_;  // empty until the first differential stack
  // (parent, frame) -> child, open addressing; the key sits in the slot so a lookup
  // touches one cache line, not the node too.
  static std::uint64_t mix(NodeId parent, FrameId frame) {
    std::uint64_t k = (std::uint64_t{parent} << 32) | frame;
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
  }
  struct Slot {
    NodeId parent;
    FrameId frame;
    NodeId id;  // kNoNode: empty
  };
  std::vector<Slot> slots_;
  std::vector<Entry> order_;
  double total_ = 0;
  double total_base_ = 0;
  bool differential_ = false;
  bool record_order_ = false;
};

}  // namespace kperf::fg
