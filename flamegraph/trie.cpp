// StackTrie: nodes in fixed chunks; children found through their sibling list, or for
// nodes with many children through a (parent, frame) index; counts for terminal nodes
// only, in a side table.
#include "flamegraph/trie.hpp"

#include <algorithm>
#include <cmath>
#include <new>

namespace kperf::fg {

StackTrie::StackTrie(bool record_order) : record_order_(record_order) {
  new_node(FrameTable::kNone, kNoNode);
}

void StackTrie::clear_stacks() {
  chunks_.clear();
  small_chunks_.clear();
  blocks_.clear();
  size_ = 0;
  wide_ = WideIndex{};
  terminals_ = NodeIndex{};
  counts_.clear();
  base_on_ = false;
  order_.clear();
  total_ = 0;
  total_base_ = 0;
  differential_ = false;
  new_node(FrameTable::kNone, kNoNode);
}

void StackTrie::add_chunk() {
  constexpr std::size_t kSmallChunks = 8;  // 32k nodes, about 0.5 MB
  constexpr std::size_t kPerBlock = HugeBlock::kSize / sizeof(Chunk);
  static_assert(kPerBlock >= 1);
  if (chunks_.size() < kSmallChunks) {
    small_chunks_.push_back(std::make_unique_for_overwrite<Chunk>());
    chunks_.push_back(small_chunks_.back().get());
    return;
  }
  const std::size_t in_block = (chunks_.size() - kSmallChunks) % kPerBlock;
  if (in_block == 0) blocks_.emplace_back();
  void* at = static_cast<Chunk*>(blocks_.back().data()) + in_block;
  chunks_.push_back(::new (at) Chunk);  // default-initialized: nothing written yet
}

NodeId StackTrie::new_node(FrameId frame, NodeId parent) {
  const auto id = static_cast<NodeId>(size_);
  if ((size_ >> kChunkBits) == chunks_.size()) add_chunk();
  NodeId sibling = kNoNode;
  if (parent != kNoNode) {
    sibling = core(parent).first_child;
    core(parent).first_child = id;
  }
  core(id) = Core{frame, parent, kNoNode, sibling};
  flag(id) = 0;
  ++size_;
  return id;
}

NodeId StackTrie::child(NodeId parent, FrameId frame) {
  if (flag(parent) & kWide) {
    const NodeId found = wide_.find(parent, frame);
    if (found != kNoNode) return found;
    const NodeId id = new_node(frame, parent);
    wide_.insert(parent, frame, id);
    return id;
  }
  std::uint32_t n = 0;
  for (NodeId c = core(parent).first_child; c != kNoNode; ++n) {
    const Core& k = core(c);
    if (k.frame == frame) return c;
    c = k.next_sibling;
  }
  const NodeId id = new_node(frame, parent);
  if (n + 1 >= kWideAt) {
    flag(parent) |= kWide;
    for (NodeId c = core(parent).first_child; c != kNoNode; c = core(c).next_sibling) {
      wide_.insert(parent, core(c).frame, c);
    }
  }
  return id;
}

StackTrie::Counts& StackTrie::counts_of(NodeId node) {
  std::uint8_t& f = flag(node);
  if (f & kTerminal) return counts_[terminals_.find(node)];
  f |= kTerminal;
  terminals_.insert(node, static_cast<std::uint32_t>(counts_.size()));
  return counts_.emplace_back(Counts{0, 0});
}

void StackTrie::start_base() {
  // First differential stack: "before" counts so far equal the counts.
  base_on_ = true;
  for (Counts& c : counts_) c.base = c.self;
}

void StackTrie::record(NodeId node, double count, double base, bool has_base) {
  if (has_base && !base_on_) start_base();
  Counts& c = counts_of(node);
  if (has_base) {
    flag(node) |= kHasBase;
    differential_ = true;
  }
  c.self += count;
  if (base_on_) c.base += base;
  total_ += count;
  total_base_ += base;
  if (record_order_) order_.push_back(Entry{node, count, base, has_base});
}

NodeId StackTrie::add(std::span<const FrameId> stack, double count) {
  NodeId n = kRoot;
  for (FrameId f : stack) n = child(n, f);
  record(n, count, count, false);
  return n;
}

NodeId StackTrie::add(std::span<const std::string_view> stack, double count) {
  NodeId n = kRoot;
  for (std::string_view f : stack) n = child(n, frames_.intern(f));
  record(n, count, count, false);
  return n;
}

NodeId StackTrie::add_diff(std::span<const FrameId> stack, double base, double count) {
  NodeId n = kRoot;
  for (FrameId f : stack) n = child(n, f);
  record(n, count, base, true);
  return n;
}

NodeId StackTrie::add_diff(std::span<const std::string_view> stack, double base, double count) {
  NodeId n = kRoot;
  for (std::string_view f : stack) n = child(n, frames_.intern(f));
  record(n, count, base, true);
  return n;
}

void StackTrie::scale_base(double num, double den) {
  if (!base_on_) start_base();
  // Inner nodes have a "before" count of 0, which scaling keeps.
  total_base_ = 0;
  for (Counts& c : counts_) {
    c.base = std::floor(c.base * num / den);
    total_base_ += c.base;
  }
  for (Entry& e : order_) e.base = std::floor(e.base * num / den);
}

void StackTrie::path(NodeId id, std::vector<FrameId>& out) const {
  out.clear();
  for (NodeId n = id; n != kRoot; n = core(n).parent) out.push_back(core(n).frame);
  std::reverse(out.begin(), out.end());
}

}  // namespace kperf::fg
