// The commits of a bisection as a DAG, the way `git bisect` sees a range:
// every commit reachable from the new end and not from the old end, plus the
// old end itself. Nodes are numbered in topological order (parents first):
// node 0 is the old end, node n-1 the new end.
//
// The model's one structural fact: a commit shows the new behaviour exactly
// when the culprit is one of its ancestors-or-self. Node 0 is treated as an
// ancestor of every node (a culprit "at or before the old end" makes the
// whole range new), so the hypothesis "the range is wrong" needs no special
// case. A linear history is the chain 0 <- 1 <- ... <- n-1, where
// "ancestor-or-self of x" is just "<= x".
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rb::bisect {

// A fixed-size bit set (one bit per node or per tested commit).
class Bits {
 public:
  Bits() = default;
  explicit Bits(int n) : n_(n), w_((n + 63) / 64, 0) {}
  int size() const { return n_; }
  bool test(int i) const { return w_[i >> 6] >> (i & 63) & 1; }
  void set(int i) { w_[i >> 6] |= uint64_t(1) << (i & 63); }
  Bits& operator|=(const Bits& o);
  int count() const;
  bool subset_of(const Bits& o) const;
  const std::vector<uint64_t>& words() const { return w_; }
  bool operator==(const Bits& o) const { return w_ == o.w_; }
  // Calls f(i) for every set bit, in increasing order.
  template <class F>
  void for_each(F f) const {
    for (std::size_t k = 0; k < w_.size(); ++k)
      for (uint64_t w = w_[k]; w; w &= w - 1) f(static_cast<int>(k * 64 + __builtin_ctzll(w)));
  }

 private:
  int n_ = 0;
  std::vector<uint64_t> w_;
};

class CommitGraph {
 public:
  // parents[i] lists nodes < i (parents outside the range are dropped by the
  // caller: they are ancestors of the old end, hence old). Throws
  // std::invalid_argument if the order is not topological or n < 2.
  explicit CommitGraph(std::vector<std::vector<int>> parents);
  static CommitGraph linear(int n);

  int size() const { return static_cast<int>(parents_.size()); }
  bool is_linear() const { return linear_; }
  const std::vector<int>& parents(int x) const { return parents_[x]; }
  const std::vector<int>& children(int x) const { return children_[x]; }
  // Ancestors-or-self of x, node 0 included (see above).
  const Bits& ancestors(int x) const;
  bool is_ancestor(int a, int x) const { return a == 0 || a == x || ancestors(x).test(a); }
  // s[x] = sum of w[c] over the ancestors-or-self c of x, for every x, in
  // O(n + merge extras): a node adds itself to its first parent's sum, a
  // merge also what its other parents bring that the first does not.
  std::vector<double> ancestor_sums(const std::vector<double>& w) const;
  // Nearest node along first parents / first children for which ok() holds,
  // or -1 (how an untestable pick is replaced by a testable neighbour).
  template <class Ok>
  int nearest_up(int x, Ok ok) const;
  template <class Ok>
  int nearest_down(int x, Ok ok) const;

 private:
  std::vector<std::vector<int>> parents_, children_;
  std::vector<std::vector<int>> extras_;  // merges: ancestors not reachable from the first parent
  mutable std::vector<Bits> anc_;          // computed on first use
  mutable std::vector<bool> anc_done_;
  bool linear_ = true;
};

template <class Ok>
int CommitGraph::nearest_up(int x, Ok ok) const {
  for (int y = x; !parents_[y].empty();) {
    y = parents_[y][0];
    if (ok(y)) return y;
  }
  return -1;
}

template <class Ok>
int CommitGraph::nearest_down(int x, Ok ok) const {
  for (int y = x; !children_[y].empty();) {
    y = children_[y][0];
    if (ok(y)) return y;
  }
  return -1;
}

}  // namespace rb::bisect
