#include "bisect/posterior.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace rb::bisect {
namespace {

double sum(const std::vector<double>& v, int from, int to) {  // [from, to]
  return std::accumulate(v.begin() + from, v.begin() + to + 1, 0.0);
}

TEST(CulpritPosterior, StartsUniformOverOneToNMinusOne) {
  CulpritPosterior post(17);
  const auto& p = post.probabilities();
  ASSERT_EQ(p.size(), 17u);
  EXPECT_EQ(p[0], 0);
  for (int c = 1; c < 17; ++c) EXPECT_NEAR(p[c], 1.0 / 16, 1e-12);
  EXPECT_NEAR(post.entropy_bits(), 4.0, 1e-9);
  EXPECT_EQ(post.prob_bad(0), 0);
  EXPECT_NEAR(post.prob_bad(8), 0.5, 1e-12);
  EXPECT_EQ(post.prob_bad(16), 1);
  EXPECT_EQ(post.map_culprit(), 1);  // ties: lowest
  EXPECT_NEAR(post.top_probability(), 1.0 / 16, 1e-12);
  for (double w : post.rate_posterior()) EXPECT_NEAR(w, 1.0 / 64, 1e-12);
  EXPECT_NEAR(post.mean_rate(), 0.5, 1e-12);
}

TEST(CulpritPosterior, OneFailureRemovesMassAboveTheFailingCommitUpToEpsilon) {
  const int n = 101, k = 30;
  CulpritPosterior post(n);
  post.observe(k, 1, 1);
  const auto& p = post.probabilities();
  // Culprit <= k: commit k is bad and fails with mean rate 0.5; culprit > k:
  // commit k is good and fails with epsilon. So P(c) above k is 2e-4 of P(c) below.
  EXPECT_NEAR(p[k + 1] / p[k], 2e-4, 1e-12);
  EXPECT_NEAR(p[1], p[k], 1e-15);
  const double above = sum(p, k + 1, n - 1);
  EXPECT_NEAR(above, 2e-4 * (n - 1 - k) / (k + 2e-4 * (n - 1 - k)), 1e-12);
  EXPECT_LT(above, 1e-3);
  EXPECT_NEAR(post.prob_bad(k), 1 - above, 1e-12);
}

TEST(CulpritPosterior, PassesReweightMassBelowAndAbove) {
  const int n = 65, k = 40, t = 5;
  CulpritPosterior post(n);
  post.observe(k, t, 0);
  // Culprit <= k: commit k bad, passes with E[(1-p)^t] on the grid; above: (1-eps)^t.
  double bad = 0;
  for (int g = 0; g < 64; ++g) bad += std::pow(1 - (g + 0.5) / 64, t) / 64;
  const double good = std::pow(1 - 1e-4, t);
  const double below = k * bad / (k * bad + (n - 1 - k) * good);
  const auto& p = post.probabilities();
  EXPECT_NEAR(sum(p, 1, k), below, 1e-12);
  EXPECT_NEAR(p[k] / p[k + 1], bad / good, 1e-12);
  EXPECT_NEAR(bad, 1.0 / (t + 1), 2e-3);  // the grid approximates the Beta integral
  EXPECT_EQ(post.map_culprit(), k + 1);
  // Passes at a commit teach that failures are rare if it is bad: the rate posterior shifts down.
  EXPECT_LT(post.mean_rate(), 0.5);
}

TEST(CulpritPosterior, FailureAboveAndCleanRunBelowPinTheCulprit) {
  CulpritPosterior post(32);
  post.observe(12, 3, 2);
  post.observe(11, 60, 0);
  EXPECT_EQ(post.map_culprit(), 12);
  EXPECT_GT(post.top_probability(), 0.99);
  EXPECT_EQ(post.runner_up(), 1);  // everything at or below 11 is equally (un)likely
  EXPECT_NEAR(post.prob_bad(11), sum(post.probabilities(), 1, 11), 1e-12);
  EXPECT_NEAR(post.prob_bad(12) - post.prob_bad(11), post.top_probability(), 1e-12);
}

TEST(CulpritPosterior, LearnsTheRateFromTheBadEnd) {
  CulpritPosterior post(10);
  post.observe(9, 1000, 300);
  EXPECT_NEAR(post.mean_rate(), 0.3, 0.01);
  const auto& w = post.rate_posterior();
  EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-12);
  // The culprit posterior is untouched: commit n-1 is bad under every culprit.
  for (int c = 1; c < 10; ++c) EXPECT_NEAR(post.probabilities()[c], 1.0 / 9, 1e-12);
}

TEST(CulpritPosterior, StrayFailureOnAGoodCommitDoesNotZeroThePosterior) {
  CulpritPosterior post(20);
  post.observe(19, 200, 60);  // rate ~0.3
  post.observe(5, 200, 1);    // one failure in 200: far likelier a false failure than rate 0.3
  EXPECT_GT(post.prob_bad(5), 0);
  EXPECT_LT(post.prob_bad(5), 1e-6);
  double total = sum(post.probabilities(), 0, 19);
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(CulpritPosterior, ReplayEqualsIncrementalInAnyOrder) {
  const int n = 257;
  std::mt19937 rng(7);
  struct Obs {
    int commit, trials, failures;
  };
  std::vector<Obs> log;
  for (int i = 0; i < 60; ++i) {
    const int c = 1 + static_cast<int>(rng() % (n - 1)), t = 1 + static_cast<int>(rng() % 8);
    log.push_back({c, t, c >= 100 ? static_cast<int>(rng() % (t + 1)) : 0});
  }
  CulpritPosterior inc(n);
  for (const Obs& o : log) inc.observe(o.commit, o.trials, o.failures);
  const CulpritPosterior replayed = CulpritPosterior::replay(n, {}, inc.evidence());
  std::shuffle(log.begin(), log.end(), rng);
  CulpritPosterior shuffled(n);
  for (const Obs& o : log) shuffled.observe(o.commit, o.trials, o.failures);
  for (const CulpritPosterior* other : {&replayed, static_cast<const CulpritPosterior*>(&shuffled)}) {
    EXPECT_EQ(other->probabilities(), inc.probabilities());
    EXPECT_EQ(other->rate_posterior(), inc.rate_posterior());
    EXPECT_EQ(other->map_culprit(), inc.map_culprit());
  }
  EXPECT_GT(inc.prob_bad(99), 0.0);
  EXPECT_LT(inc.prob_bad(99), inc.prob_bad(150));
}

TEST(CulpritPosterior, ReplayMatchesAFreshSequentialComputation) {
  // Replay against a brute-force O(n * grid) evaluation of the model.
  const int n = 12, G = 64;
  const double eps = 1e-4;
  std::vector<Evidence> table(n);
  table[3] = {5, 0};
  table[7] = {4, 1};
  table[9] = {2, 2};
  table[11] = {6, 3};
  const auto post = CulpritPosterior::replay(n, {}, table);
  std::vector<double> brute(n, 0.0);
  double z = 0;
  for (int c = 1; c < n; ++c) {
    for (int g = 0; g < G; ++g) {
      const double p = (g + 0.5) / G;
      double l = 1.0 / G;
      for (int i = 0; i < n; ++i) {
        const double r = i >= c ? p : eps;
        l *= std::pow(r, table[i].failures) * std::pow(1 - r, table[i].trials - table[i].failures);
      }
      brute[c] += l;
    }
    z += brute[c];
  }
  for (int c = 1; c < n; ++c) EXPECT_NEAR(post.probabilities()[c], brute[c] / z, 1e-12) << c;
}

TEST(CulpritPosterior, HonoursANonUniformCulpritPrior) {
  PosteriorParams params;
  params.culprit_prior = {0, 1, 1, 2, 4};
  CulpritPosterior post(5, params);
  EXPECT_NEAR(post.probabilities()[4], 0.5, 1e-12);
  EXPECT_EQ(post.map_culprit(), 4);
  EXPECT_EQ(post.runner_up(), 3);
}

TEST(CulpritPosterior, RejectsBadInput) {
  EXPECT_THROW(CulpritPosterior(1), std::invalid_argument);
  PosteriorParams zero_eps;
  zero_eps.epsilon = 0;
  EXPECT_THROW(CulpritPosterior(4, zero_eps), std::invalid_argument);
  CulpritPosterior post(4);
  EXPECT_THROW(post.observe(4, 1, 0), std::out_of_range);
  EXPECT_THROW(post.observe(2, 1, 2), std::invalid_argument);
}

}  // namespace
}  // namespace rb::bisect
