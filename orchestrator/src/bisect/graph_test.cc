#include "bisect/graph.h"

#include <gtest/gtest.h>

#include <random>

#include "testing/fixtures.h"

namespace rb::bisect {
namespace {

// Ancestors-or-self by depth-first search, node 0 always included.
std::vector<bool> brute_ancestors(const CommitGraph& g, int x) {
  std::vector<bool> seen(g.size(), false);
  std::vector<int> todo{x};
  seen[0] = true;
  while (!todo.empty()) {
    const int y = todo.back();
    todo.pop_back();
    if (seen[y] && y != 0) continue;
    seen[y] = true;
    for (int p : g.parents(y)) todo.push_back(p);
  }
  return seen;
}

TEST(CommitGraph, LinearAncestorsArePrefixes) {
  const auto g = CommitGraph::linear(10);
  EXPECT_TRUE(g.is_linear());
  for (int x = 0; x < 10; ++x)
    for (int a = 0; a < 10; ++a) EXPECT_EQ(g.is_ancestor(a, x), a <= x) << a << " " << x;
  std::vector<double> w(10);
  for (int i = 0; i < 10; ++i) w[i] = i + 1;
  const auto s = g.ancestor_sums(w);
  for (int x = 0; x < 10; ++x) EXPECT_DOUBLE_EQ(s[x], (x + 1) * (x + 2) / 2.0);
}

TEST(CommitGraph, IssueTopologyDescendantsOfTheCulprit) {
  const auto g = rb::testing::issue7_topology();
  EXPECT_FALSE(g.is_linear());
  // Bad iff the culprit (4) is an ancestor-or-self: 4, 5, both merges, mainline after.
  std::vector<int> bad;
  for (int x = 0; x < g.size(); ++x)
    if (g.is_ancestor(4, x)) bad.push_back(x);
  EXPECT_EQ(bad, (std::vector<int>{4, 5, 12, 13, 14, 15}));
  // The long branch never descends from it, whatever its position in the order.
  for (int x = 6; x <= 11; ++x) EXPECT_FALSE(g.is_ancestor(4, x)) << x;
  EXPECT_TRUE(g.is_ancestor(11, 13));
  EXPECT_FALSE(g.is_ancestor(11, 12));
}

TEST(CommitGraph, AncestorSumsMatchBruteForceOnRandomDags) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 40);
    std::vector<std::vector<int>> parents(n);
    for (int x = 1; x < n; ++x) {
      if (rng() % 7 == 0) continue;  // a root: forked before the old end
      parents[x].push_back(static_cast<int>(rng() % x));
      if (x > 2 && rng() % 3 == 0) {
        const int q = static_cast<int>(rng() % x);
        if (q != parents[x][0]) parents[x].push_back(q);
      }
    }
    const CommitGraph g(parents);
    std::vector<double> w(n);
    for (auto& v : w) v = std::uniform_real_distribution<double>(0, 1)(rng);
    const auto s = g.ancestor_sums(w);
    for (int x = 0; x < n; ++x) {
      const auto anc = brute_ancestors(g, x);
      double want = 0;
      for (int c = 0; c < n; ++c) {
        EXPECT_EQ(g.is_ancestor(c, x), anc[c]) << trial << ": " << c << " of " << x;
        if (anc[c]) want += w[c];
      }
      EXPECT_NEAR(s[x], want, 1e-12) << trial << ": " << x;
    }
  }
}

TEST(CommitGraph, NearestTestableNeighboursFollowFirstParentsAndChildren) {
  const auto g = rb::testing::issue7_topology();
  auto ok = [](int x) { return x != 12 && x != 5; };
  EXPECT_EQ(g.nearest_up(13, ok), 2);  // 12 is skipped; its first parent is mainline 2
  EXPECT_EQ(g.nearest_down(4, ok), 13);
  EXPECT_EQ(g.nearest_up(0, ok), -1);
}

TEST(CommitGraph, RejectsNonTopologicalOrder) {
  EXPECT_THROW(CommitGraph({{}, {2}, {0}}), std::invalid_argument);
  EXPECT_THROW(CommitGraph(std::vector<std::vector<int>>(1)), std::invalid_argument);
}

}  // namespace
}  // namespace rb::bisect
