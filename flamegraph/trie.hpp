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
#include "flamegraph/huge_block.hpp"
#include "flamegraph/trie_index.hpp"

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

  // Drops every stack and count but keeps the frame table, so FrameIds stay valid: the
  // cut between two runs of a sampling session that lives across them.
  void clear_stacks();

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
    if (flag(parent) & kWide) return wide_.find(parent, frame);
    for (NodeId c = core(parent).first_child; c != kNoNode;) {
      const Core& n = core(c);
      if (n.frame == frame) return c;
      c = n.next_sibling;
    }
    return kNoNode;
  }
  // Hints the cache that child(parent, frame) comes soon (batched inserts overlap
  // their memory latency this way).
  void prefetch_child(NodeId parent, FrameId frame) const {
    if (flag(parent) & kWide) {
      wide_.prefetch(parent, frame);
    } else if (const NodeId c = core(parent).first_child; c != kNoNode) {
      __builtin_prefetch(&core(c));
    }
  }
  // Kept for callers that know their size up front; nodes need no reservation (they
  // live in fixed chunks), so this does nothing.
  void reserve(std::size_t nodes) { (void)nodes; }
  // `has_base`: `base` is a real "before" count (a differential stack).
  void record(NodeId node, double count, double base, bool has_base);

  Node node(NodeId id) const {
    const Core& c = core(id);
    const std::uint8_t f = flag(id);
    if (!(f & kTerminal)) {
      return Node{c.frame, c.parent, c.first_child, c.next_sibling, false, false, 0, 0};
    }
    const Counts& k = counts_[terminals_.find(id)];
    return Node{c.frame, c.parent, c.first_child, c.next_sibling, true, (f & kHasBase) != 0,
                k.self, base_on_ ? k.base : k.self};
  }
  // Cheap field reads for walks that need no counts (node() looks the counts up).
  FrameId frame_of(NodeId id) const { return core(id).frame; }
  NodeId first_child_of(NodeId id) const { return core(id).first_child; }
  NodeId next_sibling_of(NodeId id) const { return core(id).next_sibling; }
  bool is_terminal(NodeId id) const { return (flag(id) & kTerminal) != 0; }
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
  // 16 bytes per node in fixed chunks (no reallocation copies of a big vector), flags
  // beside them in the same chunk. Counts live in a side table of terminal nodes only:
  // in folded input most nodes are inner frames with no count of their own.
  struct Core {
    FrameId frame;
    NodeId parent;
    NodeId first_child;
    NodeId next_sibling;
  };
  static constexpr unsigned kChunkBits = 12;
  static constexpr NodeId kChunkMask = (NodeId{1} << kChunkBits) - 1;
  struct Chunk {
    Core core[std::size_t{1} << kChunkBits];
    std::uint8_t flags[std::size_t{1} << kChunkBits];
  };
  static constexpr std::uint8_t kTerminal = 1;
  static constexpr std::uint8_t kHasBase = 2;
  static constexpr std::uint8_t kWide = 4;  // children are in wide_, not only the list
  static constexpr std::uint32_t kWideAt = 8;  // children before a node goes wide
  struct Counts {
    double self;
    double base;  // meaningful once base_on_ (a differential stack was seen)
  };

  Core& core(NodeId id) { return chunks_[id >> kChunkBits]->core[id & kChunkMask]; }
  const Core& core(NodeId id) const { return chunks_[id >> kChunkBits]->core[id & kChunkMask]; }
  std::uint8_t& flag(NodeId id) { return chunks_[id >> kChunkBits]->flags[id & kChunkMask]; }
  std::uint8_t flag(NodeId id) const { return chunks_[id >> kChunkBits]->flags[id & kChunkMask]; }
  NodeId new_node(FrameId frame, NodeId parent);
  void add_chunk();
  Counts& counts_of(NodeId node);
  void start_base();

  FrameTable frames_;
  std::vector<Chunk*> chunks_;
  // Owners of the chunks: the first ones one by one (small tries stay small), later
  // ones packed into huge-page blocks.
  std::vector<std::unique_ptr<Chunk>> small_chunks_;
  std::vector<HugeBlock> blocks_;
  std::size_t size_ = 0;
  // (parent, frame) -> child for the children of nodes with many (kWide) only; smaller
  // families are found through their sibling list.
  WideIndex wide_;
  // terminal node -> index in counts_.
  NodeIndex terminals_;
  std::vector<Counts> counts_;
  bool base_on_ = false;  // "before" counts kept apart (first differential stack seen)
  std::vector<Entry> order_;
  double total_ = 0;
  double total_base_ = 0;
  bool differential_ = false;
  bool record_order_ = false;
};

}  // namespace kperf::fg
