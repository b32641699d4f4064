#include "stats/trend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

// Sources:
// - R's ?prop.trend.test example: smokers <- c(83, 90, 129, 70); patients <-
//   c(86, 93, 136, 82); prop.trend.test(smokers, patients) prints X-squared =
//   8.2249, df = 1, p-value = 0.004132 (output as posted on R-help by Rui
//   Barradas, 2023-09-08; mpmath gives 8.22492228519768 and
//   0.00413189747764157). With scores c(0, 0, 0, 1): 12.1731462207402,
//   p = 0.000484824593441677 (mpmath, same formula).
// - Exact enumeration for the Poisson score test: under the null the counts
//   given their total are multinomial, so U's exact mean and variance can be
//   summed over every outcome and must equal 0 and the formula's Var U.

namespace rb::stats {
namespace {

TEST(CochranArmitage, RExampleSmokers) {
  auto t = cochran_armitage({83, 90, 129, 70}, {86, 93, 136, 82}, {1, 2, 3, 4});
  EXPECT_NEAR(t.statistic, 8.22492228519768, 1e-9);
  EXPECT_NEAR(t.p_value, 0.00413189747764157, 1e-12);
  EXPECT_LT(t.z, 0);  // the proportion falls with the score
  // Default scores 0..3 are a shift of 1..4: same test.
  EXPECT_NEAR(cochran_armitage({83, 90, 129, 70}, {86, 93, 136, 82}).statistic, t.statistic, 1e-9);
  auto last = cochran_armitage({83, 90, 129, 70}, {86, 93, 136, 82}, {0, 0, 0, 1});
  EXPECT_NEAR(last.statistic, 12.1731462207402, 1e-9);
  EXPECT_NEAR(last.p_value, 0.000484824593441677, 1e-13);
}

TEST(CochranArmitage, NothingToTest) {
  EXPECT_EQ(cochran_armitage({0, 0, 0}, {10, 10, 10}).p_value, 1.0);
  EXPECT_EQ(cochran_armitage({10, 10}, {10, 10}).p_value, 1.0);
  EXPECT_EQ(cochran_armitage({3, 0}, {10, 0}).p_value, 1.0);  // one night with trials
  EXPECT_EQ(cochran_armitage({}, {}).p_value, 1.0);
  EXPECT_THROW(cochran_armitage({3}, {2}), std::invalid_argument);
  EXPECT_THROW(cochran_armitage({1, 2}, {5}), std::invalid_argument);
  EXPECT_THROW(cochran_armitage({1, 2}, {5, 5}, {1}), std::invalid_argument);
}

// Calls f(counts, probability) for every way to spread k events over the
// shares (a multinomial outcome).
void each_outcome(int k, const std::vector<double>& share, const std::function<void(const std::vector<int>&, double)>& f) {
  std::vector<int> counts(share.size(), 0);
  std::function<void(size_t, int, double)> rec = [&](size_t i, int left, double prob) {
    if (i + 1 == share.size()) {
      counts[i] = left;
      f(counts, prob * std::pow(share[i], left) / std::tgamma(left + 1.0));
      return;
    }
    for (int c = 0; c <= left; ++c) {
      counts[i] = c;
      rec(i + 1, left - c, prob * std::pow(share[i], c) / std::tgamma(c + 1.0));
    }
  };
  rec(0, k, std::tgamma(k + 1.0));
}

TEST(PoissonTrend, VarianceEqualsExactEnumeration) {
  const std::vector<double> exposure{30, 45, 25, 60}, scores{0, 1, 2, 3};
  const int k = 9;
  std::vector<double> share;
  double total = 0;
  for (double t : exposure) total += t;
  for (double t : exposure) share.push_back(t / total);
  double s_t = 0;
  for (size_t i = 0; i < scores.size(); ++i) s_t += share[i] * scores[i];
  double mass = 0, mean = 0, second = 0;
  each_outcome(k, share, [&](const std::vector<int>& c, double p) {
    double u = 0;
    for (size_t i = 0; i < c.size(); ++i) u += c[i] * (scores[i] - s_t);
    mass += p;
    mean += p * u;
    second += p * u * u;
  });
  EXPECT_NEAR(mass, 1.0, 1e-12);
  EXPECT_NEAR(mean, 0.0, 1e-12);
  // Observed counts 1, 2, 2, 4: the statistic is U^2 / Var U with the
  // enumerated variance.
  const std::vector<int> observed{1, 2, 2, 4};
  double u = 0;
  for (size_t i = 0; i < observed.size(); ++i) u += observed[i] * (scores[i] - s_t);
  auto t = poisson_trend(observed, exposure, scores);
  EXPECT_NEAR(t.statistic, u * u / second, 1e-10);
  EXPECT_NEAR(t.z, u / std::sqrt(second), 1e-10);
}

TEST(PoissonTrend, IsTheRareEventLimitOfCochranArmitage) {
  // With n_i = T_i * M trials and tiny p, the binomial trend test becomes the
  // Poisson one (p(1-p) -> p); ties the two implementations together, and
  // the binomial one to R.
  const std::vector<int> k{2, 5, 4, 11};
  const std::vector<double> t{20, 25, 18, 30};
  std::vector<int> n;
  for (double x : t) n.push_back(static_cast<int>(x * 100000));
  auto ca = cochran_armitage(k, n);
  auto pt = poisson_trend(k, t);
  EXPECT_NEAR(ca.statistic, pt.statistic, 1e-4 * pt.statistic);
  EXPECT_GT(pt.z, 0);
}

TEST(PoissonTrend, NullRejectionRateIsNominal) {
  std::mt19937 rng(3);
  int rejected = 0;
  const int runs = 2000;
  for (int r = 0; r < runs; ++r) {
    std::vector<int> k;
    std::vector<double> t;
    for (int night = 0; night < 7; ++night) {
      t.push_back(std::uniform_real_distribution<double>(20, 60)(rng));
      k.push_back(std::poisson_distribution<int>(0.5 * t.back())(rng));
    }
    rejected += poisson_trend(k, t).p_value < 0.05;
  }
  EXPECT_GT(rejected, runs * 0.03);
  EXPECT_LT(rejected, runs * 0.07);
  // A rate doubling over a week is seen.
  std::vector<int> k;
  std::vector<double> t(7, 40.0);
  for (int night = 0; night < 7; ++night) k.push_back(std::poisson_distribution<int>(0.5 * std::pow(2, night / 6.0) * 40)(rng));
  EXPECT_LT(poisson_trend(k, t).p_value, 0.01);
}

TEST(PoissonTrend, NothingToTest) {
  EXPECT_EQ(poisson_trend({0, 0}, {10, 10}).p_value, 1.0);
  EXPECT_EQ(poisson_trend({3, 0}, {10, 0}).p_value, 1.0);
  EXPECT_THROW(poisson_trend({3, 1}, {10, 0}), std::invalid_argument);
  EXPECT_THROW(poisson_trend({3}, {-1}), std::invalid_argument);
}

}  // namespace
}  // namespace rb::stats
