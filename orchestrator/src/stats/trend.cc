#include "stats/trend.h"

#include <cmath>
#include <stdexcept>

#include "stats/binomial.h"

namespace rb::stats {

namespace {

std::vector<double> default_scores(std::vector<double> scores, size_t n, const char* what) {
  if (scores.empty())
    for (size_t i = 0; i < n; ++i) scores.push_back(static_cast<double>(i));
  if (scores.size() != n) throw std::invalid_argument(std::string(what) + ": one score per group");
  for (double s : scores)
    if (!std::isfinite(s)) throw std::invalid_argument(std::string(what) + ": scores must be finite");
  return scores;
}

// chi2 = U^2 / V with the sign of U kept in z. V == 0 (all weight on one
// score) means there is no trend to test.
TrendTest finish(double u, double v) {
  TrendTest t;
  if (!(v > 0)) return t;
  t.statistic = u * u / v;
  t.z = u / std::sqrt(v);
  t.p_value = chi2_survival(t.statistic, 1);
  return t;
}

}  // namespace

TrendTest cochran_armitage(const std::vector<int>& failures, const std::vector<int>& trials,
                           std::vector<double> scores) {
  if (failures.size() != trials.size()) throw std::invalid_argument("cochran_armitage: one trial count per group");
  scores = default_scores(std::move(scores), failures.size(), "cochran_armitage");
  double n = 0, k = 0, ns = 0;
  for (size_t i = 0; i < failures.size(); ++i) {
    if (trials[i] < 0 || failures[i] < 0 || failures[i] > trials[i])
      throw std::invalid_argument("cochran_armitage: need 0 <= failures <= trials");
    n += trials[i];
    k += failures[i];
    ns += trials[i] * scores[i];
  }
  if (n == 0 || k == 0 || k == n) return {};
  const double p = k / n, s_bar = ns / n;
  double u = 0, ss = 0;
  for (size_t i = 0; i < failures.size(); ++i) {
    u += failures[i] * (scores[i] - s_bar);
    ss += trials[i] * (scores[i] - s_bar) * (scores[i] - s_bar);
  }
  return finish(u, p * (1 - p) * ss);
}

TrendTest poisson_trend(const std::vector<int>& failures, const std::vector<double>& exposure_s,
                        std::vector<double> scores) {
  if (failures.size() != exposure_s.size()) throw std::invalid_argument("poisson_trend: one exposure per group");
  scores = default_scores(std::move(scores), failures.size(), "poisson_trend");
  double t = 0, k = 0, ts = 0;
  for (size_t i = 0; i < failures.size(); ++i) {
    if (failures[i] < 0 || !(exposure_s[i] >= 0) || std::isinf(exposure_s[i]) || (exposure_s[i] == 0 && failures[i] > 0))
      throw std::invalid_argument("poisson_trend: need failures >= 0 and a finite exposure > 0 where there are failures");
    t += exposure_s[i];
    k += failures[i];
    ts += exposure_s[i] * scores[i];
  }
  if (t == 0 || k == 0) return {};
  const double s_t = ts / t;
  double u = 0, v = 0;
  for (size_t i = 0; i < failures.size(); ++i) {
    u += failures[i] * (scores[i] - s_t);
    v += exposure_s[i] / t * (scores[i] - s_t) * (scores[i] - s_t);
  }
  return finish(u, k * v);
}

}  // namespace rb::stats
