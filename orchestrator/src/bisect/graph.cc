#include "bisect/graph.h"

#include <algorithm>
#include <stdexcept>

namespace rb::bisect {

Bits& Bits::operator|=(const Bits& o) {
  for (size_t k = 0; k < w_.size(); ++k) w_[k] |= o.w_[k];
  return *this;
}

int Bits::count() const {
  int c = 0;
  for (uint64_t w : w_) c += __builtin_popcountll(w);
  return c;
}

bool Bits::subset_of(const Bits& o) const {
  for (size_t k = 0; k < w_.size(); ++k)
    if (w_[k] & ~o.w_[k]) return false;
  return true;
}

CommitGraph::CommitGraph(std::vector<std::vector<int>> parents) : parents_(std::move(parents)) {
  const int n = size();
  if (n < 2) throw std::invalid_argument("a range needs at least 2 commits");
  children_.assign(n, {});
  for (int x = 0; x < n; ++x) {
    for (int p : parents_[x]) {
      if (p < 0 || p >= x) throw std::invalid_argument("parents must come first (topological order)");
      children_[p].push_back(x);
    }
    if (x > 0 && (parents_[x].size() != 1 || parents_[x][0] != x - 1)) linear_ = false;
  }
  anc_.assign(n, Bits());
  anc_done_.assign(n, false);
  extras_.assign(n, {});
  for (int x = 0; x < n; ++x) {
    if (parents_[x].size() < 2) continue;
    const Bits& first = ancestors(parents_[x][0]);
    ancestors(x).for_each([&](int c) {
      if (c != x && !first.test(c)) extras_[x].push_back(c);
    });
  }
}

CommitGraph CommitGraph::linear(int n) {
  std::vector<std::vector<int>> p(std::max(n, 0));
  for (int x = 1; x < n; ++x) p[x] = {x - 1};
  return CommitGraph(std::move(p));
}

const Bits& CommitGraph::ancestors(int x) const {
  if (anc_done_[x]) return anc_[x];
  // Iterative: parents first, so a long chain never recurses deeply.
  std::vector<int> todo{x};
  while (!todo.empty()) {
    const int y = todo.back();
    bool ready = true;
    for (int p : parents_[y])
      if (!anc_done_[p]) todo.push_back(p), ready = false;
    if (!ready) continue;
    todo.pop_back();
    if (anc_done_[y]) continue;
    Bits b(size());
    b.set(0);
    b.set(y);
    for (int p : parents_[y]) b |= anc_[p];
    anc_[y] = std::move(b);
    anc_done_[y] = true;
  }
  return anc_[x];
}

std::vector<double> CommitGraph::ancestor_sums(const std::vector<double>& w) const {
  const int n = size();
  std::vector<double> s(n, 0.0);
  for (int x = 0; x < n; ++x) {
    // Roots other than node 0 still have node 0 as an ancestor.
    s[x] = w[x] + (parents_[x].empty() ? (x == 0 ? 0.0 : w[0]) : s[parents_[x][0]]);
    for (int c : extras_[x]) s[x] += w[c];
  }
  return s;
}

}  // namespace rb::bisect
