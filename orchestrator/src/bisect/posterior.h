// The posterior over the culprit of a flaky regression.
//
// Model: commits 0..n-1, commit 0 good and n-1 bad by assumption; the
// culprit c in [1, n-1] is the first bad commit, so commit i is bad iff
// i >= c. A trial on a bad commit fails with an unknown rate p, shared by all
// bad commits (Beta prior, integrated out on a grid, so every failure and
// pass anywhere -- including at the bad end -- teaches p); a trial on a good
// commit fails with a small rate epsilon, so one stray failure cannot zero
// the posterior. Evidence is per-commit (trials, failures) counts:
//   P(c | data) ~ prior(c) * sum_g w_g * prod_i L_i(c, p_g).
//
// The likelihood depends on c only through which tested commits fall below
// it, so it is constant between tested commits: the posterior is computed
// per segment in log space, O(k * grid + n) for k tested commits. Every
// observe() recomputes from the evidence table, so replaying a stored table
// gives exactly the same numbers as the incremental updates that built it.
#pragma once
#include <vector>

namespace rb::bisect {

struct PosteriorParams {
  double epsilon = 1e-4;                // failure rate of a good commit
  double rate_alpha = 1, rate_beta = 1;  // Beta prior on a bad commit's rate p
  int grid = 64;                        // points over p: midpoints (g + 0.5) / grid
  // Optional prior weights over c, size n (index 0 ignored); empty = uniform.
  std::vector<double> culprit_prior;
};

struct Evidence {
  int trials = 0, failures = 0;
};

class CulpritPosterior {
 public:
  CulpritPosterior(int n_commits, PosteriorParams params = {});
  // Rebuilds a posterior from a stored evidence table (size n).
  static CulpritPosterior replay(int n_commits, PosteriorParams params, const std::vector<Evidence>& table);

  // Adds `trials` trials with `failures` failures at `commit` (accumulates).
  void observe(int commit, int trials, int failures);

  int size() const { return n_; }
  const PosteriorParams& params() const { return params_; }
  const std::vector<Evidence>& evidence() const { return table_; }

  // P(culprit = c) for c = 0..n-1 (entry 0 is always 0).
  const std::vector<double>& probabilities() const { return prob_; }
  int map_culprit() const { return map_; }  // lowest commit among ties
  double top_probability() const { return prob_[map_]; }
  int runner_up() const { return runner_up_; }  // second most probable; -1 if n == 2
  // P(commit is bad) = P(culprit <= commit).
  double prob_bad(int commit) const;
  double entropy_bits() const;

  // P(p = rate_grid()[g] | data), marginalised over the culprit.
  const std::vector<double>& rate_posterior() const { return rate_post_; }
  const std::vector<double>& rate_grid() const { return rate_grid_; }
  double mean_rate() const;

 private:
  void recompute();

  int n_;
  PosteriorParams params_;
  std::vector<Evidence> table_;
  std::vector<double> prior_, prior_cum_;  // normalised prior over c and its prefix sums
  std::vector<double> rate_grid_, log_rate_weight_;
  std::vector<double> prob_, cdf_, rate_post_;
  int map_ = 1, runner_up_ = -1;
};

}  // namespace rb::bisect
