// Is a race getting worse (or better) night after night? Score tests for a
// linear trend on the log-odds / log-rate scale: one degree of freedom spent
// on the direction a nightly history can actually show, so they detect a slow
// drift that a per-night comparison with the previous night misses.
#pragma once
#include <vector>

namespace rb::stats {

struct TrendTest {
  double statistic = 0;  // chi-square, 1 degree of freedom
  double z = 0;          // signed square root: > 0 when rates rise with the score
  double p_value = 1;    // two-sided
};

// Cochran-Armitage test for trend in proportions (failures[i] of trials[i] at
// score[i]; scores default to 0, 1, 2, ...), the same statistic as R's
// prop.trend.test:
//   chi2 = [sum k_i (s_i - s_bar)]^2 / (p (1-p) sum n_i (s_i - s_bar)^2),
// s_bar weighted by trials, p pooled. Groups with no trials are ignored;
// fewer than two scores with trials, or a pooled p of 0 or 1, give p_value 1.
TrendTest cochran_armitage(const std::vector<int>& failures, const std::vector<int>& trials,
                           std::vector<double> scores = {});

// Score test of beta = 0 in the Poisson regression log(lambda_i) = a + beta s_i
// with exposure T_i (failures per racing-second night by night). Under the
// null, given the total K the counts are multinomial with shares T_i / T, so
//   U = sum k_i (s_i - s_T),  Var U = K sum (T_i / T)(s_i - s_T)^2,
// with s_T the exposure-weighted mean score, and chi2 = U^2 / Var U. (Breslow
// & Day 1987, Statistical Methods in Cancer Research II, section 3.4.)
// Nights without exposure are ignored; no failure at all gives p_value 1.
TrendTest poisson_trend(const std::vector<int>& failures, const std::vector<double>& exposure_s,
                        std::vector<double> scores = {});

}  // namespace rb::stats
