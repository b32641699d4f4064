#include "stats/binomial.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rb::stats {

double normal_quantile(double p) {
  // Acklam's rational approximation, refined by one Halley step (|err| < 1e-12).
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double plow = 0.02425;
  double x;
  if (p < plow) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

Interval wilson(int k, int n, double confidence) {
  if (n <= 0) return {0, 1};
  const double z = normal_quantile(1 - (1 - confidence) / 2);
  const double p = static_cast<double>(k) / n, z2 = z * z;
  const double denom = 1 + z2 / n;
  const double centre = (p + z2 / (2 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
  return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

namespace {

// Continued fraction for the incomplete beta (Numerical Recipes' betacf).
double betacf(double a, double b, double x) {
  const double eps = 1e-15, fpmin = 1e-300;
  double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < fpmin) d = fpmin;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (std::fabs(c) < fpmin) c = fpmin;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (std::fabs(c) < fpmin) c = fpmin;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}

// Inverts x -> I_x(a, b) by bisection (monotone; 200 halvings is plenty).
double beta_quantile(double a, double b, double target) {
  double lo = 0, hi = 1;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (incomplete_beta(a, b, mid) < target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double log_choose(int n, int k) { return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0); }

// log P(X = x) for the hypergeometric distribution of the top-left cell.
double log_hyper(int x, int n_a, int n_b, int total_fail) {
  return log_choose(n_a, x) + log_choose(n_b, total_fail - x) - log_choose(n_a + n_b, total_fail);
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(lbt) * betacf(a, b, x) / a;
  return 1 - std::exp(lbt) * betacf(b, a, 1 - x) / b;
}

Interval clopper_pearson(int k, int n, double confidence) {
  if (n <= 0) return {0, 1};
  const double alpha = 1 - confidence;
  // low: I_low(k, n-k+1) = alpha/2; high: I_high(k+1, n-k) = 1 - alpha/2.
  double low = k == 0 ? 0.0 : beta_quantile(k, n - k + 1, alpha / 2);
  double high = k == n ? 1.0 : beta_quantile(k + 1, n - k, 1 - alpha / 2);
  return {low, high};
}

double upper_bound_zero_failures(int n, double confidence) {
  if (n <= 0) return 1;
  return 1 - std::pow(1 - confidence, 1.0 / n);
}

double fisher_exact_two_sided(int fail_a, int n_a, int fail_b, int n_b) {
  const int total = fail_a + fail_b;
  const int lo = std::max(0, total - n_b), hi = std::min(n_a, total);
  const double observed = log_hyper(fail_a, n_a, n_b, total);
  // Sum every table at most as likely as the observed one; the relative
  // tolerance keeps ties from being lost to rounding (as R does).
  double p = 0;
  for (int x = lo; x <= hi; ++x) {
    double l = log_hyper(x, n_a, n_b, total);
    if (l <= observed + 1e-7 * std::fabs(observed) + 1e-12) p += std::exp(l);
  }
  return std::min(1.0, p);
}

double fisher_exact_greater(int fail_a, int n_a, int fail_b, int n_b) {
  const int total = fail_a + fail_b;
  const int hi = std::min(n_a, total);
  double p = 0;
  for (int x = fail_a; x <= hi; ++x) p += std::exp(log_hyper(x, n_a, n_b, total));
  return std::min(1.0, p);
}

double gamma_q(double a, double x) {
  if (x <= 0) return 1;
  const double gln = std::lgamma(a);
  if (x < a + 1) {  // series for P, then Q = 1 - P
    double ap = a, sum = 1 / a, del = sum;
    for (int n = 0; n < 10000; ++n) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * 1e-15) break;
    }
    return 1 - sum * std::exp(-x + a * std::log(x) - gln);
  }
  // Continued fraction for Q (Lentz).
  const double fpmin = 1e-300;
  double b = x + 1 - a, c = 1 / fpmin, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < fpmin) d = fpmin;
    c = b + an / c;
    if (std::fabs(c) < fpmin) c = fpmin;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - gln) * h;
}

double chi2_survival(double x, int dof) { return dof <= 0 ? 1.0 : gamma_q(dof / 2.0, x / 2.0); }

DispersionTest binomial_dispersion(const std::vector<std::pair<int, int>>& per_boot, double alpha) {
  DispersionTest t;
  long fails = 0, trials = 0;
  int groups = 0;
  for (auto [f, n] : per_boot) {
    if (n <= 0) continue;
    fails += f;
    trials += n;
    ++groups;
  }
  if (groups < 2 || fails == 0 || fails == trials) return t;
  const double p = static_cast<double>(fails) / trials;
  for (auto [f, n] : per_boot) {
    if (n <= 0) continue;
    const double expected = n * p;
    t.chi2 += (f - expected) * (f - expected) / (expected * (1 - p));
  }
  t.dof = groups - 1;
  t.p_value = chi2_survival(t.chi2, t.dof);
  t.overdispersed = t.p_value < alpha;
  return t;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace rb::stats
