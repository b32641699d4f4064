// Statistics for Bernoulli trials: intervals for a failure rate, exact tests
// between two kernels, and a check that per-boot rates agree (trials within
// one boot may be correlated). Pure functions, no I/O.
#pragma once
#include <utility>
#include <vector>

namespace rb::stats {

struct Interval {
  double low, high;
};

// Wilson score interval; n == 0 gives [0, 1].
Interval wilson(int successes, int n, double confidence = 0.95);
// Exact (Clopper-Pearson) interval via the regularized incomplete beta.
Interval clopper_pearson(int k, int n, double confidence = 0.95);
// Exact upper bound when k == 0: 1 - (1 - confidence)^(1/n) (the "rule of three" is its ~3/n approximation).
double upper_bound_zero_failures(int n, double confidence = 0.95);

// Fisher's exact test on the 2x2 table [[fail_a, n_a - fail_a], [fail_b, n_b - fail_b]].
double fisher_exact_two_sided(int fail_a, int n_a, int fail_b, int n_b);
// One-sided: P-value for "A's failure rate is greater than B's".
double fisher_exact_greater(int fail_a, int n_a, int fail_b, int n_b);

double normal_quantile(double p);
// Regularized incomplete beta I_x(a, b) and upper regularized gamma Q(a, x).
double incomplete_beta(double a, double b, double x);
double gamma_q(double a, double x);
double chi2_survival(double x, int dof);

struct DispersionTest {
  double chi2 = 0;
  int dof = 0;
  double p_value = 1;
  bool overdispersed = false;
};
// Chi-square test of homogeneity of per-boot failure proportions
// (failures, trials): are boots more different than binomial noise allows?
DispersionTest binomial_dispersion(const std::vector<std::pair<int, int>>& per_boot, double alpha = 0.05);

double median(std::vector<double> v);  // NaN when empty

}  // namespace rb::stats
