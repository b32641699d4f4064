#include "stats/two_sample.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>

namespace rb::stats {

namespace {

void check_counts(int k, int n, const char* what) {
  if (n < 0 || k < 0 || k > n)
    throw std::invalid_argument(std::string(what) + ": need 0 <= k <= n, got k=" + std::to_string(k) +
                                " n=" + std::to_string(n));
}

// R's tolerance for "as extreme as observed": tables that tie mathematically
// must not drop out of the rejection region through rounding.
constexpr double kTieTolerance = 1 + 1e-7;

// The failures of A given K failures in all, X ~ Hypergeometric: the mass of
// x = lo..hi, normalised. Log weights by the ratio recurrence
// h(x+1)/h(x) = (n_a-x)(K-x) / ((x+1)(n_b-K+x+1)) (one log per step instead
// of four lgamma calls), relative to their maximum so nothing overflows.
struct Conditional {
  int lo = 0;
  std::vector<double> pmf;
};

Conditional conditional(int n_a, int n_b, int k) {
  Conditional c;
  c.lo = std::max(0, k - n_b);
  const int hi = std::min(k, n_a);
  std::vector<double> lw(hi - c.lo + 1);
  lw[0] = 0;
  for (int x = c.lo; x < hi; ++x) {
    const double num = static_cast<double>(n_a - x) * (k - x);
    const double den = static_cast<double>(x + 1) * (n_b - k + x + 1);
    lw[x - c.lo + 1] = lw[x - c.lo] + std::log(num / den);
  }
  const double top = *std::max_element(lw.begin(), lw.end());
  c.pmf.resize(lw.size());
  double total = 0;
  for (size_t i = 0; i < lw.size(); ++i) total += c.pmf[i] = std::exp(lw[i] - top);
  for (auto& p : c.pmf) p /= total;
  return c;
}

// Fisher one-sided p-values of every table with this total: P(X >= x) for
// Greater, P(X <= x) for Less. Summed from the far end so that tiny tails
// keep their relative precision.
std::vector<double> fisher_tails(const Conditional& c, bool greater) {
  const size_t m = c.pmf.size();
  std::vector<double> tail(m);
  double acc = 0;
  for (size_t j = 0; j < m; ++j) {
    const size_t i = greater ? m - 1 - j : j;
    acc += c.pmf[i];
    tail[i] = std::min(1.0, acc);
  }
  return tail;
}

double fisher_one_sided(int fail_a, int n_a, int fail_b, int n_b, bool greater) {
  const Conditional c = conditional(n_a, n_b, fail_a + fail_b);
  return fisher_tails(c, greater)[fail_a - c.lo];
}

// R_K for K = 0..N: hypergeometric mass of the tables at least as extreme as
// the observed one (Fisher p-value <= the observed p-value).
std::vector<double> rejected_mass(int n_a, int n_b, double p_obs, bool greater) {
  const int n = n_a + n_b;
  std::vector<double> r(n + 1, 0.0);
  const double limit = p_obs * kTieTolerance;
  for (int k = 0; k <= n; ++k) {
    const Conditional c = conditional(n_a, n_b, k);
    const auto tail = fisher_tails(c, greater);
    for (size_t i = 0; i < tail.size(); ++i)
      if (tail[i] <= limit) r[k] += c.pmf[i];
    r[k] = std::min(1.0, r[k]);
  }
  return r;
}

// P(reject | common probability pi) = sum_K R_K Binomial(K; N, pi).
class Size {
 public:
  explicit Size(std::vector<double> r) : r_(std::move(r)), n_(static_cast<int>(r_.size()) - 1), lchoose_(r_.size()) {
    for (int k = 0; k <= n_; ++k) lchoose_[k] = std::lgamma(n_ + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n_ - k + 1.0);
  }
  double at(double pi) const {
    if (pi <= 0) return r_[0];
    if (pi >= 1) return r_[n_];
    const double lp = std::log(pi), lq = std::log1p(-pi);
    double s = 0;
    for (int k = 0; k <= n_; ++k)
      if (r_[k] > 0) s += r_[k] * std::exp(lchoose_[k] + k * lp + (n_ - k) * lq);
    return std::min(1.0, s);
  }

 private:
  std::vector<double> r_;
  int n_;
  std::vector<double> lchoose_;
};

double pi_of(double theta) {
  const double s = std::sin(theta);
  return s * s;
}

// Golden-section search for the maximum of size over theta in [a, b].
std::pair<double, double> refine(const Size& size, double a, double b) {
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = size.at(pi_of(c)), fd = size.at(pi_of(d));
  for (int i = 0; i < 80 && b - a > 1e-12; ++i) {
    if (fc >= fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a), fc = size.at(pi_of(c));
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a), fd = size.at(pi_of(d));
    }
  }
  return fc >= fd ? std::pair{fc, pi_of(c)} : std::pair{fd, pi_of(d)};
}

// sup over pi of size(pi): a grid uniform in theta = arcsin(sqrt(pi)), where a
// binomial proportion has constant spread (1 / (2 sqrt(N))), so 1000 points
// put several on every bump up to N ~ 10^4; then the best local maxima are
// refined between their grid neighbours.
std::pair<double, double> supremum(const Size& size) {
  constexpr int kGrid = 1000;
  const double step = std::numbers::pi / 2 / kGrid;
  std::vector<double> f(kGrid + 1);
  for (int i = 0; i <= kGrid; ++i) f[i] = size.at(pi_of(i * step));
  std::vector<int> peaks;
  for (int i = 0; i <= kGrid; ++i)
    if ((i == 0 || f[i] >= f[i - 1]) && (i == kGrid || f[i] >= f[i + 1])) peaks.push_back(i);
  std::sort(peaks.begin(), peaks.end(), [&](int a, int b) { return f[a] > f[b]; });
  std::pair<double, double> best{f[peaks[0]], pi_of(peaks[0] * step)};
  for (size_t j = 0; j < std::min<size_t>(peaks.size(), 3); ++j) {
    const int i = peaks[j];
    auto r = refine(size, std::max(0, i - 1) * step, std::min(kGrid, i + 1) * step);
    if (r.first > best.first) best = r;
  }
  return best;
}

BoschlooResult one_sided(int fail_a, int n_a, int fail_b, int n_b, bool greater) {
  BoschlooResult r;
  r.statistic = fisher_one_sided(fail_a, n_a, fail_b, n_b, greater);
  if (r.statistic >= 1) return r;  // nothing is more extreme than "no evidence at all"
  const Size size(rejected_mass(n_a, n_b, r.statistic, greater));
  auto [p, pi] = supremum(size);
  r.p_value = p;
  r.nuisance = pi;
  return r;
}

}  // namespace

BoschlooResult boschloo(int fail_a, int n_a, int fail_b, int n_b, Alternative alt) {
  check_counts(fail_a, n_a, "boschloo");
  check_counts(fail_b, n_b, "boschloo");
  if (n_a == 0 || n_b == 0) return {};
  if (alt == Alternative::Greater) return one_sided(fail_a, n_a, fail_b, n_b, true);
  if (alt == Alternative::Less) return one_sided(fail_a, n_a, fail_b, n_b, false);
  const auto g = one_sided(fail_a, n_a, fail_b, n_b, true);
  const auto l = one_sided(fail_a, n_a, fail_b, n_b, false);
  const auto& smaller = g.p_value <= l.p_value ? g : l;
  return {std::min(1.0, 2 * smaller.p_value), smaller.statistic, smaller.nuisance};
}

double boschloo_min_p(int n_a, int n_b) {
  if (n_a <= 0 || n_b <= 0) return 1;
  return std::min(boschloo(n_a, n_a, 0, n_b).p_value, boschloo(0, n_a, n_b, n_b).p_value);
}

Difference newcombe_difference(int k_a, int n_a, int k_b, int n_b, double confidence) {
  check_counts(k_a, n_a, "newcombe_difference");
  check_counts(k_b, n_b, "newcombe_difference");
  Difference d;
  if (n_a == 0 || n_b == 0) return d;
  const double pa = static_cast<double>(k_a) / n_a, pb = static_cast<double>(k_b) / n_b;
  const Interval wa = wilson(k_a, n_a, confidence), wb = wilson(k_b, n_b, confidence);
  d.estimate = pa - pb;
  d.ci.low = d.estimate - std::hypot(pa - wa.low, wb.high - pb);
  d.ci.high = d.estimate + std::hypot(wa.high - pa, pb - wb.low);
  return d;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  for (double x : p)
    if (!(x >= 0 && x <= 1)) throw std::invalid_argument("holm_adjust: p-values must be in [0, 1]");
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 0;  // step-down: an adjusted p never falls below an earlier one
  for (size_t j = 0; j < m; ++j) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - j) * p[order[j]]));
    adjusted[order[j]] = running;
  }
  return adjusted;
}

}  // namespace rb::stats
