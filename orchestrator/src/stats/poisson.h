// Failures per racing-second. A race is a rate in time: each trial runs until
// its first failure or its end, so its time to first failure is censored at
// the trial's length. With a constant hazard lambda, the likelihood of k
// failures over a total exposure T (failing trials contribute their time to
// the failure, passing ones their whole length) is lambda^k e^(-lambda T), the
// Poisson likelihood, so Poisson methods apply exactly to (k, T) -- and the
// rate, unlike a per-trial proportion, does not saturate at 100% on a buggy
// kernel nor depend on the trial length.
//
// Pure functions; impossible inputs (k < 0, T < 0, NaN, confidence outside
// (0, 1)) throw std::invalid_argument.
#pragma once
#include <utility>
#include <vector>

#include "stats/binomial.h"

namespace rb::stats {

// Direction of a test between a first and a second sample: Greater means
// "the first rate (proportion) is larger than the second".
enum class Alternative { TwoSided, Greater, Less };
const char* to_string(Alternative a);

struct RateEstimate {
  int failures = 0;
  double exposure_s = 0;
  double rate = 0;    // failures per second; 0 when there is no exposure
  Interval ci{0, 0};  // Garwood, two-sided at the confidence asked for
};

// Garwood's exact interval for a Poisson rate: [G(alpha/2; k) / T,
// G(1-alpha/2; k+1) / T] with G the Gamma(shape, 1) quantile (chi-square/2).
// k == 0 gives a low bound of 0; T == 0 gives [0, +inf] (nothing observed).
Interval garwood(int failures, double exposure_s, double confidence = 0.95);
RateEstimate poisson_rate(int failures, double exposure_s, double confidence = 0.95);

// Exact binomial test of k successes in n trials against probability p, with
// R's binom.test definitions: two-sided sums every outcome no more likely
// than the observed one (relative tie tolerance 1e-7).
double binomial_test(int k, int n, double p, Alternative alt = Alternative::TwoSided);

struct RateRatio {
  double ratio = 0;        // (k1/T1) / (k2/T2); +inf when only k2 is 0, NaN when both are
  Interval ci{0, 0};       // exact, two-sided: Clopper-Pearson on k1 of k1+k2, mapped to the ratio
  double p_value = 1;      // conditional binomial test of "ratio == null_ratio"
  double expected_k1 = 0;  // E[k1 | k1 + k2] under the null
};
// Compares two rates conditionally on the total count: under ratio r,
// k1 | k1+k2 ~ Binomial(k1+k2, r T1 / (r T1 + T2)). Same figures as R's
// poisson.test(c(k1, k2), c(T1, T2), r). Both exposures must be > 0.
RateRatio rate_ratio(int k1, double T1, int k2, double T2, double confidence = 0.95,
                     Alternative alt = Alternative::TwoSided, double null_ratio = 1);

// Pearson chi-square test that per-boot rates (failures, exposure seconds)
// share one Poisson rate: sum (k_i - lambda T_i)^2 / (lambda T_i), with
// lambda = K / T, ~ chi-square(boots - 1). A boot that makes failures come
// in bursts (one guest state racing much more than another) shows up here,
// and then the pooled Garwood interval is too narrow. Boots with no exposure
// are skipped; fewer than 2 boots or no failure at all gives p_value 1.
DispersionTest poisson_dispersion(const std::vector<std::pair<int, double>>& per_boot, double alpha = 0.05);

}  // namespace rb::stats
