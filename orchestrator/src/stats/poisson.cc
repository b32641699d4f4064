#include "stats/poisson.h"

#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "stats/checks.h"

namespace rb::stats {

using detail::check_confidence;
using detail::kInf;
using detail::kNaN;

namespace {

void check_rate_input(int k, double t, const char* what) {
  if (k < 0 || !(t >= 0) || std::isinf(t))
    throw std::invalid_argument(std::string(what) + ": need failures >= 0 and a finite exposure >= 0, got k=" +
                                std::to_string(k) + " T=" + std::to_string(t));
}

// log P(Bin(n, p) = k) through lgamma: cheap enough to call for every k of
// a two-sided sum, and exact to ~1e-13 relative, far below the 1e-7 tie
// tolerance the sum uses.
double log_binom_pmf(int k, int n, double p) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(p) +
         (n - k) * std::log1p(-p);
}

}  // namespace

const char* to_string(Alternative a) {
  switch (a) {
    case Alternative::TwoSided: return "two-sided";
    case Alternative::Greater: return "greater";
    case Alternative::Less: return "less";
  }
  return "?";
}

Interval garwood(int k, double t, double confidence) {
  check_rate_input(k, t, "garwood");
  check_confidence(confidence, "garwood");
  if (t == 0) return {0, kInf};
  const double a = 1 - confidence;
  // chi2(q; 2k) / 2 is the Gamma(k, 1) quantile: no factor-of-two juggling.
  const double low = k == 0 ? 0.0 : boost::math::gamma_p_inv(static_cast<double>(k), a / 2);
  const double high = boost::math::gamma_q_inv(k + 1.0, a / 2);
  return {low / t, high / t};
}

RateEstimate poisson_rate(int k, double t, double confidence) {
  RateEstimate r;
  r.failures = k;
  r.exposure_s = t;
  r.rate = t > 0 ? k / t : 0;
  r.ci = garwood(k, t, confidence);
  return r;
}

double binomial_test(int k, int n, double p, Alternative alt) {
  if (n < 0 || k < 0 || k > n) throw std::invalid_argument("binomial_test: need 0 <= k <= n");
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("binomial_test: p must be in [0, 1]");
  // Degenerate p: only one outcome is possible.
  if (p == 0 || p == 1) {
    const int only = p == 0 ? 0 : n;
    if (alt == Alternative::Greater) return k <= only ? 1.0 : 0.0;
    if (alt == Alternative::Less) return k >= only ? 1.0 : 0.0;
    return k == only ? 1.0 : 0.0;
  }
  double tail = 0;
  if (alt == Alternative::Greater) {
    for (int i = k; i <= n; ++i) tail += std::exp(log_binom_pmf(i, n, p));
  } else if (alt == Alternative::Less) {
    for (int i = 0; i <= k; ++i) tail += std::exp(log_binom_pmf(i, n, p));
  } else {
    // R compares d(i) <= d(k) * (1 + 1e-7): tables that tie mathematically
    // must not drop out through rounding.
    const double limit = log_binom_pmf(k, n, p) + std::log1p(1e-7);
    for (int i = 0; i <= n; ++i) {
      const double l = log_binom_pmf(i, n, p);
      if (l <= limit) tail += std::exp(l);
    }
  }
  return std::min(1.0, tail);
}

RateRatio rate_ratio(int k1, double t1, int k2, double t2, double confidence, Alternative alt, double null_ratio) {
  check_rate_input(k1, t1, "rate_ratio");
  check_rate_input(k2, t2, "rate_ratio");
  check_confidence(confidence, "rate_ratio");
  if (!(t1 > 0 && t2 > 0)) throw std::invalid_argument("rate_ratio: both exposures must be > 0");
  if (!(null_ratio > 0) || std::isinf(null_ratio)) throw std::invalid_argument("rate_ratio: null ratio must be > 0");
  RateRatio r;
  const int n = k1 + k2;
  r.ratio = k2 > 0 ? (k1 / t1) / (k2 / t2) : (k1 > 0 ? kInf : kNaN);
  const double p0 = null_ratio * t1 / (null_ratio * t1 + t2);
  r.expected_k1 = n * p0;
  r.p_value = binomial_test(k1, n, p0, alt);
  // The share pi = k1/(k1+k2) maps to the ratio as pi/(1-pi) * T2/T1.
  const Interval share = clopper_pearson(k1, n, confidence);
  auto to_ratio = [&](double pi) { return pi >= 1 ? kInf : pi / (1 - pi) * t2 / t1; };
  r.ci = n == 0 ? Interval{0, kInf} : Interval{to_ratio(share.low), to_ratio(share.high)};
  return r;
}

DispersionTest poisson_dispersion(const std::vector<std::pair<int, double>>& per_boot, double alpha) {
  DispersionTest d;
  double failures = 0, exposure = 0;
  int groups = 0;
  for (auto [k, t] : per_boot) {
    check_rate_input(k, t, "poisson_dispersion");
    if (t == 0) {
      if (k > 0) throw std::invalid_argument("poisson_dispersion: failures without exposure");
      continue;
    }
    failures += k;
    exposure += t;
    ++groups;
  }
  if (groups < 2 || failures == 0) return d;
  const double lambda = failures / exposure;
  for (auto [k, t] : per_boot) {
    if (t == 0) continue;
    const double expected = lambda * t;
    d.chi2 += (k - expected) * (k - expected) / expected;
  }
  d.dof = groups - 1;
  d.p_value = chi2_survival(d.chi2, d.dof);
  d.overdispersed = d.p_value < alpha;
  return d;
}

}  // namespace rb::stats
