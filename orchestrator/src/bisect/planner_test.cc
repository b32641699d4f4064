#include "bisect/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace rb::bisect {
namespace {

// A posterior that has learnt the rate from the ends, as after the driver's endpoint checks.
CulpritPosterior with_ends(const CommitGraph& g, int fails = 30) {
  CulpritPosterior post(g);
  post.observe(g.size() - 1, 100, fails);
  post.observe(0, 32, 0);
  return post;
}

TEST(Planner, PicksRoughlyTheMedianOfAUniformPosterior) {
  const auto g = CommitGraph::linear(101);
  const auto post = with_ends(g);
  Planner planner(post);
  const Step s = planner.plan();
  // At or slightly below the median: a bad commit can pass, a good one
  // (almost) never fails, so "bad" is the noisier answer.
  EXPECT_NEAR(s.commit, 50, 6);
  EXPECT_GE(s.trials, 8);  // a build is worth amortising over several trials
  EXPECT_FALSE(planner.built(s.commit));
  EXPECT_FALSE(planner.done(0.99));
}

TEST(Planner, GainIsBoundedByOneBitAndGrowsWithTrials) {
  const auto g = CommitGraph::linear(101);
  const auto post = with_ends(g, 30);
  Planner planner(post);
  double last = 0;
  for (int t : {1, 2, 4, 8, 16, 32}) {
    const double gain = planner.expected_gain(50, t);
    EXPECT_GT(gain, last) << t;
    EXPECT_LE(gain, 1.0 + 1e-12);
    last = gain;
  }
  // 32 trials at rate 0.3 nearly settle "is c <= 50?" (a clean run leaves
  // the doubt of a rate 10-30 times lower at 50: rate_change).
  EXPECT_GT(last, 0.8);
  EXPECT_LT(planner.expected_gain(5, 32), planner.expected_gain(50, 32));
  EXPECT_NEAR(planner.expected_gain(100, 32), 0, 1e-12);  // the bad end teaches nothing about c
}

TEST(Planner, RevisitsABuiltCommitWhenItsVerdictIsWeak) {
  // 29 ran clean for long, 31 failed, 30 passed once: the culprit is 30 or
  // 31, decided by 30. A few cheap trials there beat building anything new.
  const auto g = CommitGraph::linear(64);
  auto post = with_ends(g);
  post.observe(29, 64, 0);
  post.observe(31, 8, 3);
  post.observe(30, 1, 0);
  Planner planner(post);
  EXPECT_TRUE(planner.built(30));
  EXPECT_EQ(planner.plan().commit, 30);
}

TEST(Planner, BuiltCommitsAreAlwaysCandidatesAndCheap) {
  const auto g = CommitGraph::linear(1001);
  CulpritPosterior post(g);
  Planner planner(post);
  auto has = [&](int c) {
    const auto v = planner.candidates();
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  EXPECT_FALSE(has(5));  // far from every quantile
  planner.mark_built(5);
  EXPECT_TRUE(has(5));
  // Expected trials (a step stops at its first failure) + step overhead, + a build.
  EXPECT_LE(planner.cost(5, 8), 8 + 4);
  EXPECT_GT(planner.cost(5, 8), 4);
  EXPECT_NEAR(planner.cost(500, 8) - planner.cost(500, 8 - 0), 0, 1e-12);
  EXPECT_GT(planner.cost(500, 8), 50 + 4);
  EXPECT_FALSE(has(1000));                      // the new end teaches nothing about the culprit
}

TEST(Planner, OnTheIssueTopologyAsksTheShortBranchNotTheLongOne) {
  // Failures at the first merge (12): the culprit is on the short branch or
  // mainline before it; the long branch (6..11) cannot hold it.
  const CommitGraph g({{}, {0}, {1}, {2}, {3}, {4}, {2}, {6}, {7}, {8}, {9}, {10}, {2, 5}, {12, 11}, {13}, {14}});
  auto post = with_ends(g);
  post.observe(12, 16, 6);
  post.observe(2, 32, 0);
  Planner planner(post);
  const Step s = planner.plan();
  EXPECT_GE(s.commit, 3);
  EXPECT_LE(s.commit, 5);
}

TEST(Planner, ParallelPicksAreDistinctAndSpread) {
  const auto g = CommitGraph::linear(257);
  const auto post = with_ends(g);
  Planner planner(post);
  const auto one = planner.plan_parallel(1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].commit, planner.plan().commit);
  const auto four = planner.plan_parallel(4);
  ASSERT_EQ(four.size(), 4u);
  std::set<int> commits;
  for (const Step& s : four) commits.insert(s.commit);
  EXPECT_EQ(commits.size(), 4u);
  std::vector<int> sorted(commits.begin(), commits.end());
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_GT(sorted[i] - sorted[i - 1], 20) << "picks bunch together";
  EXPECT_TRUE(planner.plan_parallel(0).empty());
}

TEST(Planner, NeverPlansAnUntestableCommit) {
  const auto g = CommitGraph::linear(33);
  const auto post = with_ends(g);
  const int pick = Planner(post).plan().commit;
  ASSERT_GT(pick, 0);
  Planner p(post);
  p.mark_untestable(pick);
  const Step s = p.plan();
  EXPECT_NE(s.commit, pick);
  EXPECT_LE(std::abs(s.commit - pick), 2) << "a neighbour should stand in for the untestable commit";
  for (const Step& st : p.plan_parallel(3)) EXPECT_NE(st.commit, pick);
}

}  // namespace
}  // namespace rb::bisect
