#include "stats/poisson.h"

#include <gtest/gtest.h>

#include <boost/math/distributions/poisson.hpp>
#include <cmath>
#include <random>
#include <stdexcept>

// Sources of the reference values, per test:
// - R's ?poisson.test examples: poisson.test(137, 24.19893) prints the 95%
//   interval 4.753125 6.692709; poisson.test(c(11, 6+8+7), c(800,
//   1083+1050+878)) prints rate ratio 1.971488, interval 0.8584264 4.2772659,
//   p-value 0.07967 (0.07966863 at full precision), expected count1 6.7174.
// - R's ?binom.test example (Mendel's peas): binom.test(682, 925, p = 3/4)
//   prints p-value = 0.3825.
// - Garwood's table of exact Poisson limits (Garwood 1936, Biometrika 28:437;
//   the usual "0 events -> upper 3.689" table). The digits beyond the
//   published four were recomputed with mpmath (40 digits) from chi-square
//   quantiles, as were the R values above: they agree to every printed digit.

namespace rb::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(Garwood, REExamplePoissonTest) {
  auto ci = garwood(137, 24.19893);
  EXPECT_NEAR(ci.low, 4.753125, 5e-7);
  EXPECT_NEAR(ci.high, 6.692709, 5e-7);
  auto r = poisson_rate(137, 24.19893);
  EXPECT_NEAR(r.rate, 5.661407, 5e-7);
}

struct GarwoodRow {
  int k;
  double low, high;  // 95%, exposure 1
};
TEST(Garwood, PublishedTable) {
  const GarwoodRow rows[] = {
      {0, 0.0, 3.688879454113936},
      {1, 0.0253178079842899, 5.571643390938898},
      {2, 0.242209278543965, 7.224687667723960},
      {5, 1.62348639011842, 11.6683320793227},
      {10, 4.79538869613243, 18.3903560420178},
  };
  for (const auto& r : rows) {
    auto ci = garwood(r.k, 1.0);
    EXPECT_NEAR(ci.low, r.low, 1e-12) << r.k;
    EXPECT_NEAR(ci.high, r.high, 1e-12) << r.k;
    // Exposure scales the rate, not the count.
    auto scaled = garwood(r.k, 50.0);
    EXPECT_NEAR(scaled.high * 50, r.high, 1e-11) << r.k;
  }
  EXPECT_EQ(garwood(0, 10).low, 0.0);
}

TEST(Garwood, NoExposureSaysNothing) {
  auto ci = garwood(0, 0);
  EXPECT_EQ(ci.low, 0.0);
  EXPECT_EQ(ci.high, kInf);
  EXPECT_EQ(poisson_rate(0, 0).rate, 0.0);
}

// Exact enumeration: the coverage of the interval at mean mu is
// sum_k P(k; mu) [mu in CI(k)], and an exact method never drops below the
// confidence, whatever mu. This fails for any approximate interval (e.g. a
// Wald interval at small mu).
TEST(Garwood, CoverageByExactEnumerationNeverBelowConfidence) {
  for (double mu = 0.05; mu < 60; mu *= 1.07) {
    boost::math::poisson_distribution<double> pois(mu);
    double coverage = 0;
    for (int k = 0; k < 400; ++k) {
      auto ci = garwood(k, 1.0);
      if (ci.low <= mu && mu <= ci.high) coverage += boost::math::pdf(pois, k);
    }
    EXPECT_GE(coverage, 0.95 - 1e-12) << "mu=" << mu;
  }
}

TEST(BinomialTest, REExampleMendel) {
  EXPECT_NEAR(binomial_test(682, 925, 0.75), 0.3824915595748517, 1e-12);
  EXPECT_EQ(binomial_test(0, 10, 0.0), 1.0);
  EXPECT_EQ(binomial_test(1, 10, 0.0), 0.0);
  EXPECT_EQ(binomial_test(10, 10, 1.0, Alternative::Greater), 1.0);
  EXPECT_EQ(binomial_test(0, 0, 0.3), 1.0);
}

TEST(RateRatio, REExamplePoissonTestTwoSample) {
  auto r = rate_ratio(11, 800, 6 + 8 + 7, 1083 + 1050 + 878);
  EXPECT_NEAR(r.ratio, 1.971488, 5e-7);
  EXPECT_NEAR(r.ci.low, 0.8584264, 5e-8);
  EXPECT_NEAR(r.ci.high, 4.2772659, 5e-8);
  EXPECT_NEAR(r.p_value, 0.07966863, 5e-9);
  EXPECT_NEAR(r.expected_k1, 6.7174, 5e-5);
  // One-sided: P(X >= 11), X ~ Bin(32, 800/3811) (mpmath).
  EXPECT_NEAR(rate_ratio(11, 800, 21, 3011, 0.95, Alternative::Greater).p_value, 0.0560086597876997, 1e-12);
}

TEST(RateRatio, ZerosGiveUnboundedButValidAnswers) {
  auto none = rate_ratio(0, 10, 0, 10);
  EXPECT_TRUE(std::isnan(none.ratio));
  EXPECT_EQ(none.p_value, 1.0);
  EXPECT_EQ(none.ci.low, 0.0);
  EXPECT_EQ(none.ci.high, kInf);
  // A race seen on one kernel only: 20 failures in 20 s vs none in 60 s.
  auto one_sided = rate_ratio(20, 20, 0, 60);
  EXPECT_EQ(one_sided.ratio, kInf);
  EXPECT_EQ(one_sided.ci.high, kInf);
  // CP low for 20 of 20 is 0.025^(1/20); mapped to the ratio.
  const double pi = std::pow(0.025, 1.0 / 20);
  EXPECT_NEAR(one_sided.ci.low, pi / (1 - pi) * 60 / 20, 1e-9);
  // (20 s / 80 s)^20 = 0.25^20: the chance that all 20 land on kernel 1 by luck.
  EXPECT_NEAR(one_sided.p_value, std::pow(0.25, 20), 1e-22);
}

TEST(RateRatio, NullRatioShiftsTheTest) {
  // Testing "kernel 2 is 10x slower" (ratio 10) on data that says exactly that.
  auto r = rate_ratio(100, 10, 10, 10, 0.95, Alternative::TwoSided, 10);
  EXPECT_NEAR(r.expected_k1, 100, 1e-9);
  EXPECT_GT(r.p_value, 0.9);
  EXPECT_LT(r.ci.low, 10);
  EXPECT_GT(r.ci.high, 10);
}

TEST(RateRatio, SwappingKernelsInvertsTheRatio) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    int k1 = std::uniform_int_distribution<int>(0, 50)(rng);
    int k2 = std::uniform_int_distribution<int>(1, 50)(rng);
    if (k1 == 0) k1 = 1;
    double t1 = std::uniform_real_distribution<double>(1, 100)(rng);
    double t2 = std::uniform_real_distribution<double>(1, 100)(rng);
    auto a = rate_ratio(k1, t1, k2, t2), b = rate_ratio(k2, t2, k1, t1);
    EXPECT_NEAR(a.ratio * b.ratio, 1.0, 1e-12);
    EXPECT_NEAR(a.ci.low * b.ci.high, 1.0, 1e-9);
    EXPECT_NEAR(a.p_value, b.p_value, 1e-12);
    EXPECT_LE(a.ci.low, a.ratio);
    EXPECT_GE(a.ci.high, a.ratio);
  }
}

TEST(PoissonDispersion, HandComputed) {
  // lambda = 15/30 = 0.5, expected 5 per boot: chi2 = (9 + 9 + 0)/5 = 3.6, dof 2,
  // p = exp(-3.6/2) for two degrees of freedom.
  auto d = poisson_dispersion({{2, 10.0}, {8, 10.0}, {5, 10.0}, {0, 0.0}});
  EXPECT_NEAR(d.chi2, 3.6, 1e-12);
  EXPECT_EQ(d.dof, 2);
  EXPECT_NEAR(d.p_value, std::exp(-1.8), 1e-12);
  EXPECT_FALSE(d.overdispersed);
  // Unequal exposures: the expected count follows the exposure.
  auto u = poisson_dispersion({{1, 1.0}, {9, 9.0}});
  EXPECT_NEAR(u.chi2, 0.0, 1e-12);
}

TEST(PoissonDispersion, BurstyBootsAreFlaggedHomogeneousOnesRarely) {
  std::mt19937 rng(99);
  int flagged = 0;
  const int runs = 400;
  for (int r = 0; r < runs; ++r) {
    std::vector<std::pair<int, double>> boots;
    for (int b = 0; b < 8; ++b) {
      double t = std::uniform_real_distribution<double>(5, 20)(rng);
      boots.push_back({std::poisson_distribution<int>(0.8 * t)(rng), t});
    }
    flagged += poisson_dispersion(boots).overdispersed;
  }
  EXPECT_LT(flagged, runs * 0.1);  // nominal 5%
  // Half the boots race at 0.1/s, half at 2/s.
  std::vector<std::pair<int, double>> bursty;
  for (int b = 0; b < 8; ++b) bursty.push_back({std::poisson_distribution<int>((b % 2 ? 2.0 : 0.1) * 10)(rng), 10.0});
  EXPECT_TRUE(poisson_dispersion(bursty).overdispersed);
}

TEST(PoissonDispersion, NothingToTest) {
  EXPECT_EQ(poisson_dispersion({}).p_value, 1.0);
  EXPECT_EQ(poisson_dispersion({{0, 5.0}, {0, 7.0}}).p_value, 1.0);
  EXPECT_EQ(poisson_dispersion({{4, 5.0}}).p_value, 1.0);
}

TEST(Validation, PoissonInputsThrow) {
  EXPECT_THROW(garwood(-1, 1), std::invalid_argument);
  EXPECT_THROW(garwood(1, -1), std::invalid_argument);
  EXPECT_THROW(garwood(1, NAN), std::invalid_argument);
  EXPECT_THROW(garwood(1, 1, 1.0), std::invalid_argument);
  EXPECT_THROW(rate_ratio(1, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(rate_ratio(1, 1, 1, 1, 0.95, Alternative::TwoSided, 0), std::invalid_argument);
  EXPECT_THROW(binomial_test(3, 2, 0.5), std::invalid_argument);
  EXPECT_THROW(binomial_test(1, 2, 1.5), std::invalid_argument);
  EXPECT_THROW(poisson_dispersion({{1, 0.0}, {1, 1.0}}), std::invalid_argument);
}

}  // namespace
}  // namespace rb::stats
