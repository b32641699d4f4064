#include "bisect/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "bisect/strategies.h"

namespace rb::bisect {
namespace {

TEST(Planner, PicksRoughlyTheMedianOfAUniformPosterior) {
  CulpritPosterior post(101);
  Planner planner(post);
  const Step s = planner.plan();
  // Slightly below the median: a bad commit can pass, a good one (almost)
  // never fails, so "bad" is the noisier answer and is asked a bit less.
  EXPECT_NEAR(s.commit, 50, 6);
  EXPECT_LE(s.commit, 50);
  EXPECT_GE(s.trials, 8);  // a build is worth amortising over several trials
  EXPECT_FALSE(planner.built(s.commit));
  EXPECT_FALSE(planner.done(0.99));
}

TEST(Planner, GainIsBoundedByOneBitAndGrowsWithTrials) {
  CulpritPosterior post(101);
  post.observe(100, 400, 120);  // rate learnt: ~0.3
  Planner planner(post);
  double last = 0;
  for (int t : {1, 2, 4, 8, 16, 32}) {
    const double g = planner.expected_gain(50, t);
    EXPECT_GT(g, last) << t;
    EXPECT_LE(g, 1.0 + 1e-12);
    last = g;
  }
  EXPECT_GT(last, 0.99);  // 32 trials at rate 0.3 all but settle "is c <= 50?"
  EXPECT_LT(planner.expected_gain(5, 32), planner.expected_gain(50, 32));
  EXPECT_EQ(planner.expected_gain(100, 32), 0);  // the bad end teaches nothing about c
}

TEST(Planner, RevisitsABuiltCommitWhenItsVerdictIsWeak) {
  // One clean trial at 30 and a failure at 31: the culprit is 31 unless 30 is
  // bad and got lucky. A few cheap trials at 30 beat building anything new.
  CulpritPosterior post(64);
  post.observe(63, 100, 30);
  post.observe(31, 2, 1);
  post.observe(30, 1, 0);
  Planner planner(post);
  EXPECT_TRUE(planner.built(30));
  const Step s = planner.plan();
  EXPECT_EQ(s.commit, 30);
  EXPECT_LE(s.trials, 32);
}

TEST(Planner, BuiltCommitsAreAlwaysCandidatesAndCheap) {
  CulpritPosterior post(1001);
  Planner planner(post);
  auto has = [&](int c) {
    const auto v = planner.candidates();
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  EXPECT_FALSE(has(5));  // far from every CDF quantile
  planner.mark_built(5);
  EXPECT_TRUE(has(5));
  EXPECT_EQ(planner.cost(5, 8), 8 + 4);        // trials + step overhead
  EXPECT_EQ(planner.cost(500, 8), 8 + 4 + 50);  // + a build
  EXPECT_FALSE(has(0));
  EXPECT_FALSE(has(1000));  // the known ends teach nothing about the culprit
}

TEST(Planner, DoneWhenTheTopCulpritReachesConfidence) {
  CulpritPosterior post(16);
  Planner planner(post);
  post.observe(15, 50, 25);
  post.observe(7, 4, 2);
  post.observe(6, 64, 0);
  EXPECT_EQ(post.map_culprit(), 7);
  EXPECT_TRUE(planner.done(0.99));
  EXPECT_FALSE(planner.done(1.0));
}

TEST(Planner, ParallelPicksAreDistinctAndSpread) {
  CulpritPosterior post(257);
  Planner planner(post);
  const auto one = planner.plan_parallel(1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].commit, planner.plan().commit);
  const auto four = planner.plan_parallel(4);
  ASSERT_EQ(four.size(), 4u);
  EXPECT_EQ(four[0].commit, planner.plan().commit);
  std::set<int> commits;
  for (const Step& s : four) commits.insert(s.commit);
  EXPECT_EQ(commits.size(), 4u);
  std::vector<int> sorted(commits.begin(), commits.end());
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_GT(sorted[i] - sorted[i - 1], 20) << "picks bunch together";
  EXPECT_TRUE(planner.plan_parallel(0).empty());
}

// Seeded simulation: culprit uniform in [1, n-1], a bad commit fails each trial with `rate`.
struct SimResult {
  int correct = 0;
  long trials = 0;
};
SimResult simulate(const Strategy& s, int n, double rate, int runs, unsigned seed) {
  SimResult r;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < runs; ++i) {
    const int culprit = 1 + static_cast<int>(rng() % (n - 1));
    auto trial = [&](int c) { return c >= culprit && (rng() >> 11) * 0x1.0p-53 < rate; };
    const BisectOutcome o = s.run(n, trial);
    r.correct += o.culprit == culprit;
    r.trials += o.trials;
  }
  return r;
}

TEST(Strategies, ProbabilisticFindsTheCulpritAtRate03) {
  const SimResult r = simulate(ProbabilisticBisect(), 64, 0.3, 200, 42);
  EXPECT_GE(r.correct, 190) << "accuracy " << r.correct / 2.0 << "%";
}

TEST(Strategies, OneTrialPerStepIsNotEnoughAtRate03) {
  // The control for the test above: the simulation can tell strategies apart.
  const SimResult r = simulate(FixedNBisect(1), 64, 0.3, 200, 42);
  EXPECT_LT(r.correct, 100);
}

TEST(Strategies, DeterministicRaceIsBisectedExactly) {
  for (int culprit : {1, 17, 63}) {
    auto trial = [&](int c) { return c >= culprit; };
    const FixedNBisect fixed(4);
    const SprtBisect sprt;
    for (const Strategy* s : {static_cast<const Strategy*>(&fixed), static_cast<const Strategy*>(&sprt)}) {
      const BisectOutcome o = s->run(64, trial);
      EXPECT_EQ(o.culprit, culprit) << s->name();
      EXPECT_GE(o.builds, 5) << s->name();  // log2(63) binary-search steps
      EXPECT_LE(o.builds, 6) << s->name();
    }
    const BisectOutcome o = ProbabilisticBisect().run(64, trial);
    EXPECT_EQ(o.culprit, culprit);
    EXPECT_GE(o.confidence, 0.99);
  }
}

TEST(Strategies, SprtStepsStopAtTheirDecision) {
  // Bad commits fail every trial: one trial decides bad; a good commit takes 45.
  auto trial = [](int c) { return c >= 40; };
  const BisectOutcome o = SprtBisect().run(64, trial);
  EXPECT_EQ(o.culprit, 40);
  // Steps: 31 good, 47 bad, 39 good, 43 bad, 41 bad, 40 bad.
  EXPECT_EQ(o.trials, 2 * 45 + 4);
  EXPECT_GT(o.confidence, 0.99);  // 45 clean trials at 39 make any culprit <= 39 implausible
}

TEST(Strategies, BudgetStopsARareRace) {
  // The race never shows within the range: no amount of testing reaches 0.99.
  const BisectOutcome o = ProbabilisticBisect({}, 0.99, 500).run(256, [](int) { return false; });
  EXPECT_TRUE(o.budget_exhausted);
  EXPECT_GE(o.trials + 50L * o.builds, 500);
  EXPECT_LT(o.trials + 50L * o.builds, 500 + 50 + 32);
}

}  // namespace
}  // namespace rb::bisect

namespace rb::bisect {
namespace {

TEST(PlannerUntestable, NeverPlansACommitThatCannotBeBuilt) {
  CulpritPosterior post(33);
  post.observe(32, 4, 2);  // the bad end fails
  Planner first(post);
  const int pick = first.plan().commit;
  ASSERT_GT(pick, 0);
  Planner p(post);
  p.mark_untestable(pick);
  const Step s = p.plan();
  EXPECT_NE(s.commit, pick);
  EXPECT_GT(s.commit, 0);
  EXPECT_LE(std::abs(s.commit - pick), 2) << "a neighbour should stand in for the untestable commit";
  for (const Step& st : p.plan_parallel(3)) EXPECT_NE(st.commit, pick);
}

}  // namespace
}  // namespace rb::bisect
