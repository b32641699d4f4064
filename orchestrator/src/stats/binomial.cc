#include "stats/binomial.h"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "stats/checks.h"

namespace rb::stats {

using detail::check_confidence;
using detail::kInf;
using detail::kNaN;

namespace {

void check_counts(int k, int n, const char* what) {
  if (n < 0 || k < 0 || k > n)
    throw std::invalid_argument(std::string(what) + ": need 0 <= k <= n, got k=" + std::to_string(k) +
                                " n=" + std::to_string(n));
}

// Bounds of a Clopper-Pearson interval are beta quantiles; Boost inverts
// I_x(a, b) with Halley steps guarded by bracketing, so it is exact to
// ~1e-15 and never leaves [0, 1].
double beta_quantile(double a, double b, double target) { return boost::math::ibeta_inv(a, b, target); }

// The top-left cell X of a 2x2 table with fixed margins is hypergeometric:
// P(X = x) is proportional to C(n_a, x) C(n_b, K - x), K = fail_a + fail_b.
// Works with log weights relative to the mode and normalises by their sum, so
// the huge common factor C(N, K) never appears, nothing overflows at n ~ 1e6,
// and lgamma rounding mostly cancels in the ratio.
class Hypergeometric {
 public:
  Hypergeometric(int fail_a, int n_a, int fail_b, int n_b) : n_a_(n_a), n_b_(n_b), k_(fail_a + fail_b) {
    lo_ = std::max(0, k_ - n_b);
    hi_ = std::min(k_, n_a);
    // Mode of the hypergeometric: floor((K+1)(n_a+1)/(N+2)); 64-bit because the product reaches ~1e12.
    const std::int64_t num = static_cast<std::int64_t>(k_ + 1) * (n_a + 1);
    mode_ = static_cast<int>(num / (static_cast<std::int64_t>(n_a) + n_b + 2));
    mode_ = std::clamp(mode_, lo_, hi_);
    log_mode_ = log_weight(mode_);
  }

  // log of the unnormalised weight C(n_a, x) C(n_b, K - x), constants dropped.
  double log_weight(int x) const {
    return -std::lgamma(x + 1.0) - std::lgamma(n_a_ - x + 1.0) - std::lgamma(k_ - x + 1.0) -
           std::lgamma(n_b_ - k_ + x + 1.0);
  }

  // Calls f(x, log_w, w) with w = exp(log_w - log_mode) for every x in the
  // support, walking outwards from the mode. The distribution is unimodal, so
  // once a weight is below e^-800 (exp gives 0) all further ones on that side
  // are too and the walk stops: cost ~ the spread, not the sample size.
  // Returns the sum of all weights (the normaliser).
  template <class F>
  double walk(F&& f) const {
    double total = 0;
    for (int x = mode_; x >= lo_; --x) {
      const double lw = log_weight(x);
      if (lw - log_mode_ < -800) break;
      const double w = std::exp(lw - log_mode_);
      total += w;
      f(x, lw, w);
    }
    for (int x = mode_ + 1; x <= hi_; ++x) {
      const double lw = log_weight(x);
      if (lw - log_mode_ < -800) break;
      const double w = std::exp(lw - log_mode_);
      total += w;
      f(x, lw, w);
    }
    return total;
  }

 private:
  int n_a_, n_b_, k_;
  int lo_ = 0, hi_ = 0, mode_ = 0;
  double log_mode_ = 0;
};

}  // namespace

double normal_quantile(double p) {
  if (std::isnan(p)) return kNaN;
  if (p <= 0) return -kInf;
  if (p >= 1) return kInf;
  return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

Interval wilson(int k, int n, double confidence) {
  check_counts(k, n, "wilson");
  check_confidence(confidence, "wilson");
  if (n == 0) return {0, 1};
  const double z = normal_quantile(1 - (1 - confidence) / 2);
  const double p = static_cast<double>(k) / n, z2 = z * z;
  const double denom = 1 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
  // At k == 0 (k == n) the bound is exactly 0 (1) analytically; pin it so
  // rounding cannot leave a 1e-17 that reads as "some failures possible".
  return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0 && b > 0)) throw std::invalid_argument("incomplete_beta: need a, b > 0");
  if (std::isnan(x)) return kNaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return boost::math::ibeta(a, b, x);
}

Interval clopper_pearson(int k, int n, double confidence) {
  check_counts(k, n, "clopper_pearson");
  check_confidence(confidence, "clopper_pearson");
  if (n == 0) return {0, 1};
  const double alpha = 1 - confidence;
  // P(Bin(n, p) >= k) = I_p(k, n-k+1), so the bounds are beta quantiles:
  // low solves I_low(k, n-k+1) = alpha/2, high solves I_high(k+1, n-k) = 1 - alpha/2.
  const double low = k == 0 ? 0.0 : beta_quantile(k, n - k + 1, alpha / 2);
  const double high = k == n ? 1.0 : beta_quantile(k + 1, n - k, 1 - alpha / 2);
  return {low, high};
}

double upper_bound_zero_failures(int n, double confidence) {
  check_counts(0, n, "upper_bound_zero_failures");
  check_confidence(confidence, "upper_bound_zero_failures");
  if (n == 0) return 1;
  // 1 - (1-c)^(1/n) via expm1: for large n the pow form loses digits to cancellation.
  return -std::expm1(std::log1p(-confidence) / n);
}

double fisher_exact_two_sided(int fail_a, int n_a, int fail_b, int n_b) {
  check_counts(fail_a, n_a, "fisher_exact_two_sided");
  check_counts(fail_b, n_b, "fisher_exact_two_sided");
  const Hypergeometric h(fail_a, n_a, fail_b, n_b);
  // Sum every table at most as likely as the observed one. R's relative
  // tolerance (d <= d_obs * (1 + 1e-7)) keeps tables that tie mathematically
  // but differ by rounding; in log space that is + log1p(1e-7).
  const double limit = h.log_weight(fail_a) + std::log1p(1e-7);
  double tail = 0;
  const double total = h.walk([&](int, double lw, double w) {
    if (lw <= limit) tail += w;
  });
  return std::min(1.0, tail / total);
}

double fisher_exact_greater(int fail_a, int n_a, int fail_b, int n_b) {
  check_counts(fail_a, n_a, "fisher_exact_greater");
  check_counts(fail_b, n_b, "fisher_exact_greater");
  const Hypergeometric h(fail_a, n_a, fail_b, n_b);
  // P(X >= fail_a): A got at least as many of the failures as observed.
  double tail = 0;
  const double total = h.walk([&](int x, double, double w) {
    if (x >= fail_a) tail += w;
  });
  return std::min(1.0, tail / total);
}

double gamma_q(double a, double x) {
  if (!(a > 0)) throw std::invalid_argument("gamma_q: need a > 0");
  if (std::isnan(x)) return kNaN;
  if (x <= 0) return 1;
  if (std::isinf(x)) return 0;
  return boost::math::gamma_q(a, x);
}

double chi2_survival(double x, int dof) { return dof <= 0 ? 1.0 : gamma_q(dof / 2.0, x / 2.0); }

DispersionTest binomial_dispersion(const std::vector<std::pair<int, int>>& per_boot, double alpha) {
  DispersionTest t;
  double fails = 0, trials = 0;  // double: sums over many boots can pass INT_MAX
  int groups = 0;
  for (auto [f, n] : per_boot) {
    check_counts(f, n, "binomial_dispersion");
    if (n == 0) continue;
    fails += f;
    trials += n;
    ++groups;
  }
  // No variation to test: a single boot, or every trial passed (or failed).
  if (groups < 2 || fails == 0 || fails == trials) return t;
  const double p = fails / trials;
  // Pearson's statistic for the 2 x groups table, written per boot as
  // (f - n p)^2 / (n p (1-p)); ~chi-square(groups-1) when all boots share one
  // rate. Trials within a boot that share a state make boots disagree more
  // than that, which would make binomial intervals over all trials too narrow.
  // (The approximation is rough when expected failures per boot are < ~5.)
  for (auto [f, n] : per_boot) {
    if (n == 0) continue;
    const double expected = n * p;
    t.chi2 += (f - expected) * (f - expected) / (expected * (1 - p));
  }
  t.dof = groups - 1;
  t.p_value = chi2_survival(t.chi2, t.dof);
  t.overdispersed = t.p_value < alpha;
  return t;
}

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2) return *mid;
  // Even count: average with the largest element of the lower half.
  const double below = *std::max_element(v.begin(), mid);
  return below + (*mid - below) / 2;
}

}  // namespace rb::stats
