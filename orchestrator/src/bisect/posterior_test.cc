#include "bisect/posterior.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <tuple>

#include "testing/fixtures.h"

namespace rb::bisect {
namespace {

double sum(const std::vector<double>& v, int from, int to) {  // [from, to]
  return std::accumulate(v.begin() + from, v.begin() + to + 1, 0.0);
}

// log P(k of t | mean p, correlation rho) up to the binomial coefficient, by
// Beta functions (the posterior uses a product form: two routes to one value).
double lbeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }
double ref_boot(int t, int k, double p, double rho) {
  if (rho == 0) return k * std::log(p) + (t - k) * std::log1p(-p);
  const double s = (1 - rho) / rho;
  return lbeta(k + p * s, t - k + (1 - p) * s) - lbeta(p * s, (1 - p) * s);
}

// The commits where the rate may reach its final value for culprit c: its
// strict descendants (regression) or strict ancestors but node 0 (fix).
std::vector<int> change_points(const CommitGraph& g, int c, bool fix) {
  std::vector<int> out;
  for (int k = 1; k < g.size(); ++k)
    if (k != c && (fix ? g.is_ancestor(k, c) : g.is_ancestor(c, k))) out.push_back(k);
  return out;
}

// The model of posterior.h evaluated hypothesis by hypothesis (culprit c,
// change point k or none, factor f), theta by theta.
std::vector<double> brute_force(const CulpritPosterior& post, const std::vector<std::vector<BootCount>>& boots) {
  const auto& P = post.params();
  const auto& g = post.graph();
  const int n = g.size();
  std::vector<double> prior(n, (1 - P.p_range_wrong) / (n - 1));
  prior[0] = P.p_range_wrong;
  auto log_lik = [&](int x, double q, double rho) {
    double s = 0;
    for (auto b : boots[x]) s += ref_boot(b.trials, b.failures, q, rho);
    return s;
  };
  std::vector<double> lw(n, -INFINITY);
  for (int c = 0; c < n; ++c) {
    const auto ks = change_points(g, c, P.fix);
    // (k, f, weight): k = -1 is "no change".
    std::vector<std::tuple<int, double, double>> hyps{{-1, 1.0, ks.empty() ? 1 : 1 - P.rate_change}};
    if (P.rate_change > 0)
      for (int k : ks)
        for (double f : P.change_factors) hyps.push_back({k, f, P.rate_change / ks.size() / P.change_factors.size()});
    std::vector<double> terms;
    for (size_t r = 0; r < P.dispersion.size(); ++r)
      for (size_t j = 0; j < post.rate_grid().size(); ++j)
        for (size_t i = 0; i < post.flake_grid().size(); ++i) {
          const double p = post.rate_grid()[j], e = post.flake_grid()[i], rho = P.dispersion[r];
          if (e * P.min_ratio > p) continue;
          const double lp = std::log(P.dispersion_prior[r]) + P.rate_prior_a * std::log(p) +
                            P.rate_prior_b * std::log1p(-p) + i * std::log(P.flake_decay);
          for (auto [k, f, u] : hyps) {
            double l = lp + std::log(u);
            for (int x = 0; x < n; ++x) {
              if (boots[x].empty()) continue;
              const bool fresh = g.is_ancestor(c, x);
              if (fresh == P.fix) {
                l += log_lik(x, e, rho);
                continue;
              }
              // Affected; at the lowered rate between the culprit and k.
              const bool low = k >= 0 && (P.fix ? g.is_ancestor(k, x) : !g.is_ancestor(k, x));
              l += log_lik(x, low ? std::max(p * f, std::min(p, P.change_floor)) : p, rho);
            }
            terms.push_back(l);
          }
        }
    const double m = *std::max_element(terms.begin(), terms.end());
    double s = 0;
    for (double t : terms) s += std::exp(t - m);
    lw[c] = std::log(prior[c]) + m + std::log(s);
  }
  const double m = *std::max_element(lw.begin(), lw.end());
  double z = 0;
  for (double v : lw) z += std::exp(v - m);
  std::vector<double> out(n);
  for (int c = 0; c < n; ++c) out[c] = std::exp(lw[c] - m) / z;
  return out;
}

void feed(CulpritPosterior& post, const std::vector<std::vector<BootCount>>& boots) {
  for (size_t x = 0; x < boots.size(); ++x)
    for (auto b : boots[x]) post.observe(static_cast<int>(x), b);
}

TEST(CulpritPosterior, StartsAtThePrior) {
  const auto g = CommitGraph::linear(17);
  CulpritPosterior post(g);
  const auto& p = post.probabilities();
  EXPECT_NEAR(p[0], 0.02, 1e-12);
  for (int c = 1; c < 17; ++c) EXPECT_NEAR(p[c], 0.98 / 16, 1e-12);
  EXPECT_NEAR(post.prob_bad(8), 0.02 + 8 * 0.98 / 16, 1e-12);
  EXPECT_NEAR(post.prob_bad(16), 1, 1e-12);
  EXPECT_EQ(post.map_culprit(), 1);  // ties: lowest culprit
  EXPECT_NEAR(std::accumulate(post.rate_posterior().begin(), post.rate_posterior().end(), 0.0), 1, 1e-12);
}

TEST(CulpritPosterior, MatchesABruteForceEvaluationOnALine) {
  const auto g = CommitGraph::linear(12);
  std::vector<std::vector<BootCount>> boots(12);
  boots[0] = {{8, 0}, {8, 0}};
  boots[3] = {{5, 0}};
  boots[7] = {{4, 1}, {8, 0}};
  boots[9] = {{2, 2}};
  boots[11] = {{8, 3}, {8, 8}, {6, 0}};
  CulpritPosterior post(g);
  feed(post, boots);
  const auto want = brute_force(post, boots);
  for (int c = 0; c < 12; ++c) EXPECT_NEAR(post.probabilities()[c], want[c], 1e-10) << c;
  // On a line P(x new) is the CDF.
  for (int x = 0; x < 12; ++x) EXPECT_NEAR(post.prob_bad(x), sum(post.probabilities(), 0, x), 1e-12);
}

TEST(CulpritPosterior, MatchesABruteForceEvaluationOnTheIssueTopologyAndForAFix) {
  const auto g = rb::testing::issue7_topology();
  std::vector<std::vector<BootCount>> boots(g.size());
  boots[0] = {{8, 0}};
  boots[5] = {{8, 3}};
  boots[8] = {{8, 0}, {8, 0}};
  boots[11] = {{8, 0}};
  boots[12] = {{8, 4}};
  boots[15] = {{8, 4}, {8, 5}};
  for (bool fix : {false, true}) {
    PosteriorParams params;
    params.fix = fix;
    CulpritPosterior post(g, params);
    feed(post, boots);
    const auto want = brute_force(post, boots);
    for (int c = 0; c < g.size(); ++c) EXPECT_NEAR(post.probabilities()[c], want[c], 1e-10) << c << " fix " << fix;
    for (int x = 0; x < g.size(); ++x) {
      double pn = 0;
      for (int c = 0; c < g.size(); ++c)
        if (g.is_ancestor(c, x)) pn += want[c];
      EXPECT_NEAR(post.prob_bad(x), pn, 1e-10) << x;
    }
  }
}

TEST(CulpritPosterior, CleanLongBranchDoesNotPullTheCulpritToItsMerge) {
  // Failures at the first merge and the end, clean runs all along the long
  // branch: the culprit is on the short branch (3, 4 or 5) or its merge 12,
  // never the long branch's merge 13 (where a flattened line put it).
  const auto g = rb::testing::issue7_topology();
  CulpritPosterior post(g);
  post.observe(15, 64, 30);
  post.observe(0, 64, 0);
  post.observe(12, 16, 8);
  for (int x : {7, 9, 11}) post.observe(x, 32, 0);
  EXPECT_LT(post.probabilities()[13], 1e-3);
  EXPECT_GT(sum(post.probabilities(), 3, 5) + post.probabilities()[12], 0.99);
  post.observe(4, 16, 7);
  // 3 must run long enough to rule out a rate 30 times lower (rate_change).
  post.observe(3, 64, 0);
  EXPECT_LT(post.top_probability(), 0.99);
  post.observe(3, 128, 0);
  EXPECT_EQ(post.map_culprit(), 4);
  EXPECT_GT(post.top_probability(), 0.99);
}

TEST(CulpritPosterior, FailureAboveAndCleanRunBelowPinTheCulprit) {
  const auto g = CommitGraph::linear(32);
  CulpritPosterior post(g);
  post.observe(31, 64, 20);
  post.observe(0, 64, 0);
  post.observe(12, 16, 5);
  post.observe(11, 96, 0);
  EXPECT_EQ(post.map_culprit(), 12);
  // 96 clean trials rule out 11 failing at ~0.3 but not at a tenth of it
  // (rate_change); 400 rule out that too.
  EXPECT_LT(post.top_probability(), 0.99);
  post.observe(11, 304, 0);
  EXPECT_GT(post.top_probability(), 0.99);
  EXPECT_EQ(post.group_of(12), (std::vector<int>{12}));
  EXPECT_EQ(post.group_of(5).size(), 11u);  // 1..11: nothing tested tells them apart
}

TEST(CulpritPosterior, OneCleanRunCannotRuleOutALaterRateChange) {
  // The end fails at ~0.5; 24 clean trials at 11 would rule it out as
  // affected at 0.5, but not at a tenth of it (rate_change): no certainty.
  const auto g = CommitGraph::linear(32);
  CulpritPosterior post(g);
  post.observe(31, 64, 32);
  post.observe(12, 8, 4);
  post.observe(11, 24, 0);
  EXPECT_EQ(post.map_culprit(), 12);
  EXPECT_LT(post.top_probability(), 0.99);
  PosteriorParams rigid;
  rigid.rate_change = 0;
  CulpritPosterior strict(g, rigid);
  strict.observe(31, 64, 32);
  strict.observe(12, 8, 4);
  strict.observe(11, 24, 0);
  EXPECT_GT(strict.top_probability(), post.top_probability());
}

TEST(CulpritPosterior, AParentIsDoubtedByAsMuchAsTheChangeCanFallRightAfterIt) {
  // The same evidence around a culprit early in the range and one near its
  // end: the change point is uniform over the culprit's descendants, so
  // "the parent is the culprit and the rate rose right at the next commit"
  // is likelier where fewer commits follow.
  auto top_after = [](int c) {
    static const auto g = CommitGraph::linear(64);
    CulpritPosterior post(g);
    post.observe(0, 64, 0);
    post.observe(63, 64, 20);
    post.observe(c, 16, 5);
    post.observe(c - 1, 128, 0);
    EXPECT_EQ(post.map_culprit(), c);
    return post.top_probability();
  };
  const double early = top_after(12), late = top_after(60);
  EXPECT_GT(early, 0.99);
  EXPECT_LT(late, 0.99);
}

TEST(CulpritPosterior, LearnsRateFlakeRateAndDispersion) {
  const auto g = CommitGraph::linear(10);
  CulpritPosterior post(g);
  for (int b = 0; b < 100; ++b) post.observe(9, BootCount{10, 3});
  // The median: with only the end tested, "rate 1 at a third of it"
  // (rate_change) explains the counts too and drags the mean up.
  EXPECT_NEAR(post.rate_quantile(0.5), 0.3, 0.03);
  EXPECT_GT(post.dispersion_posterior()[0], 0.9);  // binomial-like boots
  CulpritPosterior clumped(g);
  for (int b = 0; b < 100; ++b) clumped.observe(9, BootCount{10, b % 10 < 3 ? 10 : 0});
  EXPECT_LT(clumped.dispersion_posterior()[0], 1e-6);  // all-or-nothing boots: correlated trials
  CulpritPosterior flaky(g);
  flaky.observe(9, 200, 60);
  flaky.observe(0, 1000, 3);
  EXPECT_GT(flaky.mean_flake(), 1e-3);
  // 3 in 1000 is a flake, not the race (only the race lowered to the
  // floor before a later rate change could explain it, at odds of about 1
  // in 1700).
  EXPECT_LT(flaky.probabilities()[0], 1e-3);
}

TEST(CulpritPosterior, ReplayEqualsIncrementalInAnyOrder) {
  const auto g = CommitGraph::linear(129);
  std::mt19937 rng(7);
  std::vector<std::pair<int, BootCount>> log;
  for (int i = 0; i < 60; ++i) {
    const int c = static_cast<int>(rng() % 129), t = 1 + static_cast<int>(rng() % 8);
    log.push_back({c, {t, c >= 50 ? static_cast<int>(rng() % (t + 1)) : 0}});
  }
  CulpritPosterior inc(g);
  for (auto [c, b] : log) {
    inc.observe(c, b);
    inc.probabilities();  // force the incremental recomputation
  }
  std::shuffle(log.begin(), log.end(), rng);
  CulpritPosterior shuffled(g);
  for (auto [c, b] : log) shuffled.observe(c, b);
  EXPECT_EQ(shuffled.probabilities(), inc.probabilities());
  EXPECT_EQ(shuffled.rate_posterior(), inc.rate_posterior());
  EXPECT_LT(inc.prob_bad(40), inc.prob_bad(60));
  // reset + observe again is a replay too.
  CulpritPosterior again = inc;
  for (int x = 0; x < 129; ++x) again.reset(x);
  for (auto [c, b] : log) again.observe(c, b);
  EXPECT_EQ(again.probabilities(), inc.probabilities());
}

TEST(CulpritPosterior, RejectsBadInput) {
  const auto g = CommitGraph::linear(4);
  PosteriorParams bad;
  bad.rate_min = 0;
  EXPECT_THROW(CulpritPosterior(g, bad), std::invalid_argument);
  bad = {};
  bad.dispersion = {0, 1};
  bad.dispersion_prior = {1, 1};
  EXPECT_THROW(CulpritPosterior(g, bad), std::invalid_argument);
  CulpritPosterior post(g);
  EXPECT_THROW(post.observe(4, BootCount{1, 0}), std::out_of_range);
  EXPECT_THROW(post.observe(2, BootCount{1, 2}), std::invalid_argument);
}

}  // namespace
}  // namespace rb::bisect
