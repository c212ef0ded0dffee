// StackTrie: nodes in one vector, children found through a (parent, frame) hash index.
#include "flamegraph/trie.hpp"

#include <algorithm>
#include <cmath>

namespace kperf::fg {


StackTrie::StackTrie(bool record_order)
    : slots_(1024, Slot{kNoNode, FrameTable::kNone, kNoNode}), record_order_(record_order) {
  new_node(FrameTable::kNone, kNoNode);
}

NodeId StackTrie::new_node(FrameId frame, NodeId parent) {
  const auto id = static_cast<NodeId>(size_);
  if ((size_ >> kChunkBits) == chunks_.size()) {
    chunks_.push_back(std::make_unique_for_overwrite<Core[]>(std::size_t{1} << kChunkBits));
  }
  NodeId sibling = kNoNode;
  if (parent != kNoNode) {
    sibling = core(parent).first_child;
    core(parent).first_child = id;
  }
  core(id) = Core{frame, parent, kNoNode, sibling, 0};
  flags_.push_back(0);
  if (!base_.empty()) base_.push_back(0);
  ++size_;
  return id;
}

void StackTrie::rehash(std::size_t slots) {
  std::vector<Slot> bigger(slots, Slot{kNoNode, FrameTable::kNone, kNoNode});
  const std::size_t mask = bigger.size() - 1;
  for (const Slot& s : slots_) {
    if (s.id == kNoNode) continue;
    std::size_t i = mix(s.parent, s.frame) & mask;
    while (bigger[i].id != kNoNode) i = (i + 1) & mask;
    bigger[i] = s;
  }
  slots_.swap(bigger);
}

void StackTrie::grow() { rehash(slots_.size() * 2); }

void StackTrie::reserve(std::size_t nodes) {
  std::size_t want = slots_.size();
  while (want * 5 < nodes * 8 && want < (std::size_t{1} << 31)) want *= 2;
  if (want != slots_.size()) rehash(want);
}

NodeId StackTrie::child(NodeId parent, FrameId frame) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = mix(parent, frame) & mask;
  for (;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id == kNoNode) break;
    if (s.parent == parent && s.frame == frame) return s.id;
  }
  const NodeId id = new_node(frame, parent);
  slots_[i] = Slot{parent, frame, id};
  if (size_ * 8 > slots_.size() * 5) grow();  // load factor 5/8
  return id;
}

void StackTrie::record(NodeId node, double count, double base, bool has_base) {
  if (has_base && base_.empty()) {
    // First differential stack: "before" counts so far equal the counts.
    base_.resize(size_);
    for (NodeId id = 0; id < size_; ++id) base_[id] = core(id).self;
  }
  Core& c = core(node);
  flags_[node] |= kTerminal;
  if (has_base) {
    flags_[node] |= kHasBase;
    differential_ = true;
  }
  c.self += count;
  if (!base_.empty()) base_[node] += base;
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
  if (base_.empty()) {
    base_.resize(size_);
    for (NodeId id = 0; id < size_; ++id) base_[id] = core(id).self;
  }
  total_base_ = 0;
  for (double& b : base_) {
    b = std::floor(b * num / den);
    total_base_ += b;
  }
  for (Entry& e : order_) e.base = std::floor(e.base * num / den);
}

void StackTrie::path(NodeId id, std::vector<FrameId>& out) const {
  out.clear();
  for (NodeId n = id; n != kRoot; n = core(n).parent) out.push_back(core(n).frame);
  std::reverse(out.begin(), out.end());
}

}  // namespace kperf::fg
