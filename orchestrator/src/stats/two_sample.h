// Comparing two failure proportions (kernel A's fails/trials against kernel
// B's), and correcting p-values over many such comparisons.
//
// Why Boschloo and not Fisher or a mid-p: Fisher's test conditions on both
// margins, which a nightly run does not fix (the total number of failures is
// random), so its true size is well below alpha and it misses changes a
// count of a few dozen trials can show. A mid-p value is less conservative
// but can exceed alpha, which a CI gate must not. Boschloo's test keeps
// Fisher's p-value as the ordering of tables and computes its exact size
// unconditionally (maximised over the common failure probability pi), so it
// is never anti-conservative and is uniformly more powerful than Fisher.
// Computing it exactly is cheap here: given the total K of failures, the
// tables are hypergeometric, so the rejection probability is
//   size(pi) = sum_K R_K Binomial(K; N, pi),
// with R_K the hypergeometric mass of the rejected tables with that total.
// Building R_K costs O(N min(n_a, n_b)); each pi then costs O(N), so the
// supremum is found on a fine grid (uniform in arcsin sqrt(pi), where the
// binomial's width is constant) refined by golden-section search -- about a
// millisecond for n_a = n_b = 300.
#pragma once
#include <vector>

#include "stats/binomial.h"
#include "stats/poisson.h"

namespace rb::stats {

struct BoschlooResult {
  double p_value = 1;
  double statistic = 1;  // Fisher's p-value of the observed table (one-sided, or the smaller side)
  double nuisance = 0;   // the common failure probability pi at which the size is largest
};

// Two-sided is R Exact's and SciPy's "central" definition: twice the smaller
// one-sided p-value, capped at 1. Greater: A's proportion exceeds B's.
BoschlooResult boschloo(int fail_a, int n_a, int fail_b, int n_b, Alternative alt = Alternative::TwoSided);

// The smallest two-sided p-value any outcome of n_a and n_b trials can give
// (all of one side failing, none of the other). When it is above the level a
// comparison would need, no data of this size could show a difference.
double boschloo_min_p(int n_a, int n_b);

struct Difference {
  double estimate = 0;  // p_a - p_b
  Interval ci{-1, 1};
};
// Newcombe's hybrid score interval for p_a - p_b (method 10 of Newcombe 1998,
// Stat Med 17:873): Wilson intervals of both proportions combined by square
// and add. Keeps good coverage at 0/n and n/n, where Wald collapses. Either n
// being 0 gives [-1, 1].
Difference newcombe_difference(int k_a, int n_a, int k_b, int n_b, double confidence = 0.95);

// Holm's step-down adjustment (Holm 1979): with p sorted ascending,
// adjusted_(i) = max over j <= i of min(1, (m - j + 1) p_(j)). Rejecting
// every adjusted p <= alpha controls the family-wise error at alpha under any
// dependence between the comparisons. Returned in the input order.
std::vector<double> holm_adjust(const std::vector<double>& p);

}  // namespace rb::stats
