#include "stats/binomial.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace rb::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kFpMin = 1e-300;  // keeps Lentz's method away from division by zero
constexpr double kEps = 1e-15;     // continued fraction / series convergence

void check_counts(int k, int n, const char* what) {
  if (n < 0 || k < 0 || k > n)
    throw std::invalid_argument(std::string(what) + ": need 0 <= k <= n, got k=" + std::to_string(k) +
                                " n=" + std::to_string(n));
}

void check_confidence(double c, const char* what) {
  if (!(c > 0 && c < 1)) throw std::invalid_argument(std::string(what) + ": confidence must be in (0, 1)");
}

// Continued fraction for I_x(a, b), modified Lentz (Numerical Recipes' betacf).
// It converges fast for x < (a+1)/(a+b+2); the iteration count grows like
// sqrt(max(a, b)), hence a cap far above NR's 100 so n ~ 1e6 still works.
double betacf(double a, double b, double x) {
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kFpMin) d = kFpMin;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 100000; ++m) {
    const int m2 = 2 * m;
    // Even step of the recurrence.
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kFpMin) d = kFpMin;
    c = 1 + aa / c;
    if (std::fabs(c) < kFpMin) c = kFpMin;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kFpMin) d = kFpMin;
    c = 1 + aa / c;
    if (std::fabs(c) < kFpMin) c = kFpMin;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

// Solves I_x(a, b) = target for x by bisection: I_x is monotone in x, and
// bisection cannot diverge the way Newton can near 0 or 1. Stops at a
// relative width of 1e-15 (or 200 halvings, enough for any root > 1e-60).
double beta_quantile(double a, double b, double target) {
  double lo = 0, hi = 1;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = lo + (hi - lo) / 2;
    (incomplete_beta(a, b, mid) < target ? lo : hi) = mid;
  }
  return lo + (hi - lo) / 2;
}

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
  // Acklam's rational approximation (rel. error 1.15e-9), refined by one
  // Halley step against erfc, which brings it to near machine precision.
  if (std::isnan(p)) return kNaN;
  if (p <= 0) return -kInf;
  if (p >= 1) return kInf;
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  constexpr double plow = 0.02425;
  double x;
  if (p < plow) {  // lower tail
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {  // central region
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {  // upper tail; 1 - p is exact here (p > 0.5)
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
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
  // log of the prefactor x^a (1-x)^b / B(a, b); log1p keeps 1-x exact for tiny x.
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  // Use the fraction where it converges fast; otherwise the symmetry I_x(a,b) = 1 - I_{1-x}(b,a).
  if (x < (a + 1) / (a + b + 2)) return std::exp(lbt) * betacf(a, b, x) / a;
  return 1 - std::exp(lbt) * betacf(b, a, 1 - x) / b;
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
  // log of the common prefactor e^-x x^a / Gamma(a).
  const double lpre = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    // Series for P(a, x) converges fast here, and Q = 1 - P is not small
    // in this region, so the subtraction loses nothing that matters.
    double ap = a, sum = 1 / a, del = sum;
    for (int i = 0; i < 100000; ++i) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * kEps) break;
    }
    return std::max(0.0, 1 - sum * std::exp(lpre));
  }
  // Continued fraction for Q directly (modified Lentz), accurate in the far tail.
  double b = x + 1 - a, c = 1 / kFpMin, d = 1 / b, h = d;
  for (int i = 1; i <= 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kFpMin) d = kFpMin;
    c = b + an / c;
    if (std::fabs(c) < kFpMin) c = kFpMin;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return std::exp(lpre) * h;
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
