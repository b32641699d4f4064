#include "stats/binomial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

// Reference values were computed independently with mpmath at 40 digits:
// Wilson from its closed form, Clopper-Pearson by bisecting the exact binomial
// tail sum, Fisher from exact integer hypergeometric sums (with R's 1e-7
// tie tolerance), chi-square survival from mpmath.gammainc. They match the
// usual published values (e.g. R's binom.test / fisher.test).

namespace rb::stats {
namespace {

constexpr double kTol = 1e-4;

// Relative tolerance for values far below 1.
void expect_rel(double got, double want, double rel = 1e-6) { EXPECT_NEAR(got, want, std::fabs(want) * rel) << want; }

TEST(NormalQuantile, KnownValues) {
  EXPECT_NEAR(normal_quantile(0.975), 1.9599639845400542, 1e-12);
  EXPECT_NEAR(normal_quantile(0.995), 2.5758293035489008, 1e-12);
  EXPECT_NEAR(normal_quantile(0.9), 1.2815515655446005, 1e-12);
  EXPECT_NEAR(normal_quantile(0.001), -3.0902323061678135, 1e-12);
  EXPECT_NEAR(normal_quantile(1e-10), -6.3613409024040562, 1e-9);
  EXPECT_EQ(normal_quantile(0.5), 0.0);
  EXPECT_EQ(normal_quantile(0.0), -INFINITY);
  EXPECT_EQ(normal_quantile(1.0), INFINITY);
  // Antisymmetry.
  for (double p : {0.01, 0.1, 0.3, 0.49}) EXPECT_NEAR(normal_quantile(p), -normal_quantile(1 - p), 1e-12);
}

TEST(Wilson, KnownValues) {
  auto a = wilson(0, 10);
  EXPECT_EQ(a.low, 0.0);
  EXPECT_NEAR(a.high, 0.277532799862889, kTol);
  auto b = wilson(5, 10);
  EXPECT_NEAR(b.low, 0.236593090512564, kTol);
  EXPECT_NEAR(b.high, 0.763406909487436, kTol);
  auto c = wilson(10, 10);
  EXPECT_NEAR(c.low, 0.722467200137111, kTol);
  EXPECT_EQ(c.high, 1.0);
  auto d = wilson(1, 3);
  EXPECT_NEAR(d.low, 0.0614919447203962, kTol);
  EXPECT_NEAR(d.high, 0.792340399197952, kTol);
  auto e = wilson(3, 40, 0.99);
  EXPECT_NEAR(e.low, 0.0191632553293851, kTol);
  EXPECT_NEAR(e.high, 0.251768976152062, kTol);
}

TEST(Wilson, LargeNAndEmpty) {
  auto a = wilson(10, 100000);
  expect_rel(a.low, 5.43207345096309e-5);
  expect_rel(a.high, 0.000184084695450892);
  auto z = wilson(0, 0);
  EXPECT_EQ(z.low, 0.0);
  EXPECT_EQ(z.high, 1.0);
}

TEST(ClopperPearson, KnownValues) {
  auto a = clopper_pearson(0, 10);
  EXPECT_EQ(a.low, 0.0);
  EXPECT_NEAR(a.high, 0.308497107818761, kTol);
  auto b = clopper_pearson(5, 10);
  EXPECT_NEAR(b.low, 0.187086028447399, kTol);
  EXPECT_NEAR(b.high, 0.812913971552601, kTol);
  auto c = clopper_pearson(10, 10);
  EXPECT_NEAR(c.low, 0.691502892181239, kTol);
  EXPECT_EQ(c.high, 1.0);
  auto d = clopper_pearson(1, 3);
  EXPECT_NEAR(d.low, 0.00840375865961264, kTol);
  EXPECT_NEAR(d.high, 0.905700675949754, kTol);
  auto e = clopper_pearson(3, 40);
  EXPECT_NEAR(e.low, 0.0157421798510415, kTol);
  EXPECT_NEAR(e.high, 0.203864748732899, kTol);
  auto f = clopper_pearson(3, 40, 0.99);
  EXPECT_NEAR(f.low, 0.00862778884172274, kTol);
  EXPECT_NEAR(f.high, 0.248372274769495, kTol);
}

TEST(ClopperPearson, LargeNAndEmpty) {
  auto a = clopper_pearson(10, 100000);
  expect_rel(a.low, 4.79548951390114e-5);
  expect_rel(a.high, 0.00018389584537665);
  auto z = clopper_pearson(0, 0);
  EXPECT_EQ(z.low, 0.0);
  EXPECT_EQ(z.high, 1.0);
  // n = 1e6 must still converge (continued fraction needs ~sqrt(n) terms).
  auto big = clopper_pearson(500000, 1000000);
  EXPECT_NEAR(big.low + big.high, 1.0, 1e-9);  // symmetric around 1/2
  EXPECT_NEAR(big.high - 0.5, 1.96 * 0.0005, 2e-5);  // ~ normal approximation
}

TEST(ClopperPearson, ZeroFailuresMatchesExactUpperBoundOneSidedAt2Alpha) {
  // For k = 0 the two-sided CP high bound at confidence c is the one-sided
  // bound at 1 - (1-c)/2: (alpha/2)^(1/n) = 1 - high.
  for (int n : {1, 5, 10, 100, 1000}) {
    EXPECT_NEAR(clopper_pearson(0, n).high, upper_bound_zero_failures(n, 0.975), 1e-9) << n;
  }
}

TEST(UpperBoundZeroFailures, Values) {
  EXPECT_NEAR(upper_bound_zero_failures(10), 0.258865550893052, 1e-12);
  EXPECT_NEAR(upper_bound_zero_failures(1000), 0.0029912495450953, 1e-12);
  EXPECT_EQ(upper_bound_zero_failures(0), 1.0);
  // Rule of three: ~3/n for large n.
  EXPECT_NEAR(upper_bound_zero_failures(100000) * 100000, 3.0, 0.01);
}

TEST(IncompleteBeta, KnownValues) {
  // I_0.4(2,3) = 0.5248 exactly (binomial tail P(Bin(4,0.4) >= 2)).
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-12);
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.3), 0.369010119565545, 1e-10);  // arcsine distribution
  EXPECT_NEAR(incomplete_beta(500, 700, 0.41), 0.320673272661402, 1e-9);
  EXPECT_EQ(incomplete_beta(2, 3, 0), 0.0);
  EXPECT_EQ(incomplete_beta(2, 3, 1), 1.0);
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 1 - incomplete_beta(3, 2, 0.6), 1e-14);
}

TEST(ChiSquare, SurvivalKnownValues) {
  EXPECT_NEAR(chi2_survival(3.841458820694124, 1), 0.05, 1e-10);
  EXPECT_NEAR(chi2_survival(5.991464547107979, 2), 0.05, 1e-10);
  EXPECT_NEAR(chi2_survival(18.307038053275146, 10), 0.05, 1e-10);
  EXPECT_NEAR(chi2_survival(1.0, 1), 0.317310507862914, 1e-10);
  EXPECT_NEAR(chi2_survival(10.0, 3), 0.0185661354630432, 1e-10);
  EXPECT_NEAR(chi2_survival(50, 30), 0.0124020607189006, 1e-10);
  EXPECT_NEAR(chi2_survival(0.5, 4), 0.973500978839256, 1e-10);
  expect_rel(chi2_survival(200, 150), 0.00397318597082161, 1e-8);
  // dof = 2 is exactly exp(-x/2), deep into the tail.
  expect_rel(chi2_survival(100, 2), std::exp(-50.0), 1e-10);
  EXPECT_EQ(chi2_survival(0, 3), 1.0);
  EXPECT_EQ(chi2_survival(5, 0), 1.0);
}

TEST(Fisher, KnownValues) {
  // Tea-tasting-style table [[1, 9], [11, 3]].
  EXPECT_NEAR(fisher_exact_two_sided(1, 10, 11, 14), 0.00275945618522008, 1e-7);
  EXPECT_NEAR(fisher_exact_greater(1, 10, 11, 14), 0.999966348095302, 1e-7);
  EXPECT_NEAR(fisher_exact_greater(11, 14, 1, 10), 0.00137972809261004, 1e-7);
  // [[3, 1], [1, 3]]: 0.4857 two-sided (the tied table counts: R's tolerance matters).
  EXPECT_NEAR(fisher_exact_two_sided(3, 4, 1, 4), 0.485714285714286, 1e-9);
  EXPECT_NEAR(fisher_exact_greater(3, 4, 1, 4), 0.242857142857143, 1e-9);
  EXPECT_NEAR(fisher_exact_two_sided(7, 20, 2, 20), 0.127386127386127, 1e-9);
  EXPECT_NEAR(fisher_exact_greater(7, 20, 2, 20), 0.0636930636930637, 1e-9);
  EXPECT_NEAR(fisher_exact_greater(5, 10, 5, 10), 0.67185910065167, 1e-9);
  // Tables whose mirror image ties exactly with the observed one but comes
  // out a few ulps apart in floating point: without the 1e-7 tolerance the
  // mirror is dropped and these halve.
  EXPECT_NEAR(fisher_exact_two_sided(3, 6, 0, 6), 0.181818181818182, 1e-9);
  EXPECT_NEAR(fisher_exact_two_sided(1, 4, 2, 4), 1.0, 1e-9);
  EXPECT_NEAR(fisher_exact_two_sided(0, 7, 5, 7), 0.020979020979021, 1e-9);
  EXPECT_NEAR(fisher_exact_two_sided(3, 7, 1, 7), 0.559440559440559, 1e-9);
}

TEST(Fisher, DegenerateTables) {
  EXPECT_EQ(fisher_exact_two_sided(0, 40, 0, 40), 1.0);
  EXPECT_EQ(fisher_exact_greater(0, 40, 0, 40), 1.0);
  EXPECT_EQ(fisher_exact_two_sided(5, 10, 5, 10), 1.0);
  EXPECT_EQ(fisher_exact_two_sided(0, 0, 3, 10), 1.0);
  EXPECT_EQ(fisher_exact_greater(0, 0, 3, 10), 1.0);
  EXPECT_EQ(fisher_exact_two_sided(10, 10, 10, 10), 1.0);
}

TEST(Fisher, LargeN) {
  expect_rel(fisher_exact_two_sided(10, 100000, 30, 100000), 0.00221923725098798);
  expect_rel(fisher_exact_greater(30, 100000, 10, 100000), 0.00110961862549399);
  EXPECT_NEAR(fisher_exact_greater(10, 100000, 30, 100000), 0.999660630454561, 1e-8);
  expect_rel(fisher_exact_two_sided(100, 1000000, 150, 1000000), 0.00188206965154862);
  expect_rel(fisher_exact_greater(150, 1000000, 100, 1000000), 0.000941034825774308);
  // A huge, extreme table: p underflows towards 0 but stays a valid number.
  double p = fisher_exact_greater(500000, 1000000, 0, 1000000);
  EXPECT_GE(p, 0.0);
  EXPECT_LT(p, 1e-100);
}

// Direct Fisher p-values for small tables: binomial coefficients as plain
// doubles (exact enough below n = 60), no logs, no walk from the mode.
double choose(int n, int k) {
  double c = 1;
  for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
  return c;
}
double brute_fisher(int f_a, int n_a, int f_b, int n_b, bool greater) {
  const int k = f_a + f_b;
  double total = 0, tail = 0;
  const double obs = choose(n_a, f_a) * choose(n_b, f_b);
  for (int x = std::max(0, k - n_b); x <= std::min(k, n_a); ++x) {
    const double w = choose(n_a, x) * choose(n_b, k - x);
    total += w;
    if (greater ? x >= f_a : w <= obs * (1 + 1e-7)) tail += w;
  }
  return tail / total;
}

TEST(Fisher, PropertiesOnRandomTables) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 300; ++i) {
    int n_a = std::uniform_int_distribution<int>(0, 60)(rng);
    int n_b = std::uniform_int_distribution<int>(0, 60)(rng);
    int f_a = std::uniform_int_distribution<int>(0, n_a)(rng);
    int f_b = std::uniform_int_distribution<int>(0, n_b)(rng);
    double two = fisher_exact_two_sided(f_a, n_a, f_b, n_b);
    double gt = fisher_exact_greater(f_a, n_a, f_b, n_b);
    double lt = fisher_exact_greater(f_b, n_b, f_a, n_a);  // "A less than B"
    EXPECT_GE(two, 0.0);
    EXPECT_LE(two, 1.0);
    EXPECT_GT(gt, 0.0);
    EXPECT_LE(gt, 1.0);
    // Symmetric in swapping the groups.
    EXPECT_NEAR(two, fisher_exact_two_sided(f_b, n_b, f_a, n_a), 1e-12);
    // The two one-sided tails overlap in exactly the observed table, so
    // together they cover everything: gt + lt >= 1. The hypergeometric is
    // unimodal, so every table beyond the observed one on its own side is
    // less likely and the two-sided p includes that whole tail.
    EXPECT_GE(gt + lt, 1.0 - 1e-12);
    EXPECT_GE(two, std::min(gt, lt) - 1e-12);
    // Brute force with directly computed probabilities.
    EXPECT_NEAR(two, brute_fisher(f_a, n_a, f_b, n_b, false), 1e-9);
    EXPECT_NEAR(gt, brute_fisher(f_a, n_a, f_b, n_b, true), 1e-9);
  }
  // More extreme A-failures give a smaller "greater" p-value.
  double prev = 2;
  for (int f = 0; f <= 20; ++f) {
    double p = fisher_exact_greater(f, 20, 5, 20);
    EXPECT_LE(p, prev + 1e-15);
    prev = p;
  }
}

TEST(Intervals, PropertiesOnGeneratedInput) {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    int n = std::uniform_int_distribution<int>(1, 2000)(rng);
    int k = std::uniform_int_distribution<int>(0, n)(rng);
    double phat = static_cast<double>(k) / n;
    auto w = wilson(k, n), cp = clopper_pearson(k, n);
    EXPECT_LE(0.0, w.low);
    EXPECT_LE(w.low, w.high);
    EXPECT_LE(w.high, 1.0);
    // Both contain the MLE, and CP contains Wilson's centre (its point
    // estimate (k + z^2/2) / (n + z^2)). (CP does not contain all of Wilson:
    // at k = 0 Wilson's high ~3.84/n exceeds CP's ~3.69/n.)
    const double z2 = 1.959963984540054 * 1.959963984540054;
    const double centre = (k + z2 / 2) / (n + z2);
    EXPECT_LE(w.low, phat);
    EXPECT_GE(w.high, phat);
    EXPECT_LE(cp.low, phat);
    EXPECT_GE(cp.high, phat);
    EXPECT_LE(cp.low, centre);
    EXPECT_GE(cp.high, centre);
    // CP bounds really are the alpha/2 tail quantiles.
    if (k > 0) {
      EXPECT_NEAR(incomplete_beta(k, n - k + 1, cp.low), 0.025, 1e-9);
    }
    if (k < n) {
      EXPECT_NEAR(incomplete_beta(k + 1, n - k, cp.high), 0.975, 1e-9);
    }
    // Higher confidence => wider interval.
    auto w99 = wilson(k, n, 0.99), cp99 = clopper_pearson(k, n, 0.99);
    EXPECT_LE(w99.low, w.low + 1e-15);
    EXPECT_GE(w99.high, w.high - 1e-15);
    EXPECT_LE(cp99.low, cp.low + 1e-15);
    EXPECT_GE(cp99.high, cp.high - 1e-15);
  }
  // Same observed rate with more trials => narrower interval.
  double prev_w = 2, prev_cp = 2;
  for (int n = 10; n <= 100000; n *= 10) {
    auto w = wilson(n / 10, n), cp = clopper_pearson(n / 10, n);
    EXPECT_LT(w.high - w.low, prev_w);
    EXPECT_LT(cp.high - cp.low, prev_cp);
    prev_w = w.high - w.low;
    prev_cp = cp.high - cp.low;
  }
  // With zero failures, more trials => lower upper bound.
  double prev = 2;
  for (int n = 1; n <= 4096; n *= 2) {
    EXPECT_LT(clopper_pearson(0, n).high, prev);
    EXPECT_LT(upper_bound_zero_failures(n), clopper_pearson(0, n).high);  // one-sided is tighter
    prev = clopper_pearson(0, n).high;
  }
}

TEST(Dispersion, HandComputed) {
  // Pooled 15/60 = 0.25, expected 5 each: chi2 = (9 + 9 + 0) / 3.75 = 4.8, dof 2, p = exp(-2.4).
  auto d = binomial_dispersion({{2, 20}, {8, 20}, {5, 20}, {0, 0}});
  EXPECT_NEAR(d.chi2, 4.8, 1e-12);
  EXPECT_EQ(d.dof, 2);
  EXPECT_NEAR(d.p_value, 0.0907179532894125, 1e-10);
  EXPECT_FALSE(d.overdispersed);
  EXPECT_TRUE(binomial_dispersion({{2, 20}, {8, 20}, {5, 20}}, 0.1).overdispersed);
}

TEST(Dispersion, HeterogeneousIsOverdispersed) {
  auto d = binomial_dispersion({{0, 50}, {50, 50}});
  EXPECT_NEAR(d.chi2, 100.0, 1e-9);  // every trial's outcome is explained by its boot
  EXPECT_EQ(d.dof, 1);
  EXPECT_LT(d.p_value, 1e-20);
  EXPECT_TRUE(d.overdispersed);
}

TEST(Dispersion, GeneratedHomogeneousIsNotOverdispersed) {
  // Same 10% rate in every boot: at alpha 0.05 about 5% of such runs would
  // be flagged by chance, so check the rate over many simulated runs.
  std::mt19937 rng(2024);
  std::bernoulli_distribution trial(0.1);
  int flagged = 0;
  const int runs = 400;
  for (int r = 0; r < runs; ++r) {
    std::vector<std::pair<int, int>> boots;
    for (int b = 0; b < 8; ++b) {
      int f = 0;
      for (int t = 0; t < 100; ++t) f += trial(rng);
      boots.push_back({f, 100});
    }
    auto d = binomial_dispersion(boots);
    EXPECT_GE(d.p_value, 0.0);
    EXPECT_LE(d.p_value, 1.0);
    EXPECT_EQ(d.dof, 7);
    flagged += d.overdispersed;
  }
  EXPECT_LT(flagged, runs * 0.1);  // nominal 5%
  // And a mixture of a 2% boot rate and a 30% one is caught.
  std::bernoulli_distribution lo(0.02), hi(0.3);
  std::vector<std::pair<int, int>> mixed;
  for (int b = 0; b < 8; ++b) {
    int f = 0;
    for (int t = 0; t < 100; ++t) f += (b % 2 ? hi(rng) : lo(rng));
    mixed.push_back({f, 100});
  }
  EXPECT_TRUE(binomial_dispersion(mixed).overdispersed);
}

TEST(Dispersion, NothingToTest) {
  EXPECT_EQ(binomial_dispersion({}).p_value, 1.0);
  EXPECT_FALSE(binomial_dispersion({{3, 10}}).overdispersed);        // one boot
  EXPECT_FALSE(binomial_dispersion({{3, 10}, {0, 0}}).overdispersed);  // empty boot skipped
  auto none = binomial_dispersion({{0, 10}, {0, 30}});                // pooled rate 0
  EXPECT_EQ(none.p_value, 1.0);
  EXPECT_FALSE(none.overdispersed);
  EXPECT_EQ(binomial_dispersion({{10, 10}, {30, 30}}).p_value, 1.0);  // pooled rate 1
}

TEST(Median, Values) {
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_EQ(median({3.0}), 3.0);
  EXPECT_EQ(median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_EQ(median({1.0, 1.0, 100.0, 1.0}), 1.0);
}

TEST(Validation, ImpossibleCountsThrow) {
  EXPECT_THROW(wilson(11, 10), std::invalid_argument);
  EXPECT_THROW(wilson(-1, 10), std::invalid_argument);
  EXPECT_THROW(wilson(1, 10, 1.0), std::invalid_argument);
  EXPECT_THROW(clopper_pearson(3, 2), std::invalid_argument);
  EXPECT_THROW(clopper_pearson(1, 2, 0.0), std::invalid_argument);
  EXPECT_THROW(upper_bound_zero_failures(-1), std::invalid_argument);
  EXPECT_THROW(fisher_exact_two_sided(5, 4, 0, 4), std::invalid_argument);
  EXPECT_THROW(fisher_exact_greater(0, 4, -1, 4), std::invalid_argument);
  EXPECT_THROW(binomial_dispersion({{5, 4}, {1, 4}}), std::invalid_argument);
}

}  // namespace
}  // namespace rb::stats
