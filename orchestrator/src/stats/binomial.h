// Statistics for Bernoulli trials: intervals for a failure rate, exact tests
// between two kernels, and a check that per-boot rates agree (trials within
// one boot may be correlated). Pure functions, no I/O, no global state.
//
// Counts that cannot be (k < 0, k > n, n < 0) and confidences outside (0, 1)
// throw std::invalid_argument: they are caller bugs, not data.
#pragma once
#include <utility>
#include <vector>

namespace rb::stats {

struct Interval {
  double low, high;
};

// Wilson score interval for k successes in n trials; n == 0 gives [0, 1].
// Good coverage even at k = 0 or tiny n, unlike the Wald interval.
Interval wilson(int successes, int n, double confidence = 0.95);
// Exact (Clopper-Pearson) interval: conservative, coverage >= confidence.
// k == 0 gives low 0, k == n gives high 1, n == 0 gives [0, 1].
Interval clopper_pearson(int k, int n, double confidence = 0.95);
// Exact one-sided upper bound when no failure was seen in n trials:
// 1 - (1 - confidence)^(1/n) (the "rule of three" 3/n approximates it at 95%).
// n == 0 gives 1.
double upper_bound_zero_failures(int n, double confidence = 0.95);

// Fisher's exact test on the 2x2 table [[fail_a, n_a - fail_a], [fail_b, n_b - fail_b]].
// Two-sided as R's fisher.test: sums every table no more likely than the observed one.
double fisher_exact_two_sided(int fail_a, int n_a, int fail_b, int n_b);
// One-sided: p-value for "A's failure rate is greater than B's".
double fisher_exact_greater(int fail_a, int n_a, int fail_b, int n_b);

// Inverse standard normal CDF; -inf/+inf at p <= 0 / p >= 1.
double normal_quantile(double p);
// Regularized incomplete beta I_x(a, b) (a, b > 0) and upper regularized
// gamma Q(a, x) = Gamma(a, x) / Gamma(a) (a > 0). Thin wrappers over Boost.Math
// that keep the edge conventions callers rely on (x <= 0, x >= 1, NaN).
double incomplete_beta(double a, double b, double x);
double gamma_q(double a, double x);
// P(X > x) for X ~ chi-square with dof degrees of freedom; 1 when dof <= 0.
double chi2_survival(double x, int dof);

struct DispersionTest {
  double chi2 = 0;
  int dof = 0;
  double p_value = 1;
  bool overdispersed = false;
};
// Pearson chi-square test of homogeneity of per-boot failure proportions
// (failures, trials): are boots more different than binomial noise allows?
// Boots with 0 trials are skipped; fewer than 2 boots or a pooled rate of 0
// or 1 gives p_value 1, not overdispersed.
DispersionTest binomial_dispersion(const std::vector<std::pair<int, int>>& per_boot, double alpha = 0.05);

double median(std::vector<double> v);  // NaN when empty

}  // namespace rb::stats
