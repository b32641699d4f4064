// The posterior over the culprit of a flaky regression on a commit DAG.
//
// Model. The culprit c is a node of the range (graph.h); commit x shows the
// new behaviour iff c is an ancestor-or-self of x. c = 0 ("at or before the
// old end": the range is wrong) gets a small prior of its own. Trials on the
// affected side (new commits for a regression, old ones for a fix) fail with
// a common unknown rate p; trials on the other side fail with an unknown
// flake rate e, p >= min_ratio * e. Both rates live on grids (p: uniform in
// logit from rate_min, so log-spaced at small rates; e: log-spaced from
// flake_min) and are integrated out, so every observation teaches them.
//
// Two departures from independent trials are part of the model, because the
// simulator showed each one making "99%" wrong far more than 1% of the time:
// - trials within one boot are correlated: a boot's count is beta-binomial
//   with intra-boot correlation rho (a small grid, learnt like the rates);
// - the rate may change after the culprit: with probability rate_change
//   the affected rate reaches p only at a change point k
//   (uniform over the culprit's strict descendants; for a fix, its strict
//   ancestors), and the affected commits between the culprit and k fail at
//   p times one of change_factors, not below change_floor. A later commit
//   that raises the rate would otherwise pass for the culprit. One change
//   point, not an independent rate per commit: the doubt it casts on the
//   named culprit's parent is that of the change falling exactly there.
//
//   P(c | data) ~ prior(c) * sum_k prior(k | c) sum_theta prior(theta) * prod_x L_x(c, k, theta)
//
// The likelihood depends on c only through which tested commits descend
// from it (its signature), so culprits are grouped by signature and each
// group costs one pass over the theta grid; a change hypothesis depends on
// the pair of groups of c and k, one pass per pair that some culprit needs. Every query recomputes from the
// evidence table when it changed, so a replayed table gives exactly the
// numbers of the incremental updates that built it.
#pragma once
#include <map>
#include <utility>
#include <vector>

#include "bisect/graph.h"

namespace rb::bisect {

struct BootCount {
  int trials = 0, failures = 0;
};

struct PosteriorParams {
  bool fix = false;  // the old side fails: looking for the commit that fixed the race
  double rate_min = 1e-4, rate_max = 0.995;
  int rate_points = 48;
  // Prior density of the affected rate per unit of logit(p): p^a (1-p)^b
  // (a = b = 0 is log-uniform at small rates; 0.5 is Jeffreys' prior).
  double rate_prior_a = 0.5, rate_prior_b = 0.5;
  double flake_min = 1e-4, flake_max = 0.01;
  int flake_points = 5;
  double flake_decay = 0.5;  // prior weight ratio between neighbouring flake-grid points
  double min_ratio = 4;
  std::vector<double> dispersion = {0, 0.1, 0.3};
  std::vector<double> dispersion_prior = {0.8, 0.1, 0.1};
  // 0.3: in simulation 0.1 named a later commit that raised the rate from
  // 0.02 to 0.3 at >= 0.99 in 5% of runs (200 runs); 0.3 in 1%, for 12-17%
  // more cost at n = 64.
  double rate_change = 0.3;
  std::vector<double> change_factors = {0.3, 0.1, 0.03};
  // A changed rate p * f never goes below min(p, change_floor): rates below
  // the smallest one the bisection must catch (the driver's min_rate) are
  // out of scope, and modelling them would make clean runs prove nothing.
  double change_floor = 0.01;
  double p_range_wrong = 0.02;
  std::vector<double> culprit_prior;  // optional weights over nodes 1..n-1 (size n, [0] ignored)
};

class CulpritPosterior {
 public:
  // `graph` must outlive the posterior.
  CulpritPosterior(const CommitGraph& graph, PosteriorParams params = {});

  // One boot's counts at `commit` (boots without trials teach nothing).
  void observe(int commit, BootCount boot);
  // `trials` trials split into boots of `per_boot`, failures spread evenly
  // (tests and the planner).
  void observe(int commit, int trials, int failures, int per_boot = 8);
  // Forgets the commit's evidence (the driver re-reads it from the log).
  void reset(int commit);

  int size() const { return graph_.size(); }
  const CommitGraph& graph() const { return graph_; }
  const PosteriorParams& params() const { return params_; }
  const std::vector<std::map<std::pair<int, int>, int>>& evidence() const { return boots_; }
  bool tested(int x) const { return !boots_[x].empty(); }

  // P(culprit = c); [0] is P(the range is wrong).
  const std::vector<double>& probabilities() const;
  // P(commit x shows the new behaviour), for every x.
  const std::vector<double>& prob_new() const;
  double prob_bad(int x) const { return prob_new()[x]; }
  int map_culprit() const;  // lowest node among ties
  double top_probability() const { return probabilities()[map_culprit()]; }
  int runner_up() const;  // -1 if there is none
  // Culprits no tested commit can tell apart from c (same signature).
  std::vector<int> group_of(int c) const;
  double entropy_bits() const;

  // Marginal posteriors of the affected rate, the flake rate and rho.
  const std::vector<double>& rate_grid() const { return p_grid_; }
  const std::vector<double>& rate_posterior() const;
  const std::vector<double>& flake_grid() const { return e_grid_; }
  const std::vector<double>& flake_posterior() const;
  const std::vector<double>& dispersion_posterior() const;
  double mean_rate() const;
  double rate_quantile(double q) const;
  double mean_flake() const;

 private:
  struct Theta {
    int r, p, e;
    double log_prior;
  };
  struct Group {
    Bits bits;                // which tested commits descend from its culprits
    std::vector<double> sum;  // log prior(theta) + log L(no change, theta)
    double log_lik;
  };
  void ensure() const;
  void recompute() const;
  void build_rows(int x) const;
  void build_groups() const;
  void count_change_points() const;
  int change_points(int c) const;  // how many c has
  void sum_change_pairs() const;
  std::vector<double> change_sum(int g, int h, int f) const;
  double culprit_log_weight(int c) const;
  void sum_marginals(double z) const;

  const CommitGraph& graph_;
  PosteriorParams params_;
  std::vector<double> p_grid_, e_grid_, log_p_prior_, log_e_prior_, log_r_prior_;
  std::vector<Theta> theta_;
  std::vector<std::map<std::pair<int, int>, int>> boots_;  // per commit: (trials, failures) -> boots

  // Derived, recomputed lazily.
  mutable bool dirty_ = true;
  mutable std::vector<bool> row_dirty_;
  mutable std::vector<std::vector<double>> new_row_, old_row_;  // per commit, over theta
  mutable std::vector<std::vector<double>> low_row_;  // per commit, per factor: lowered minus clean
  mutable std::vector<int> tested_;
  mutable std::vector<Group> groups_;
  mutable std::vector<std::vector<int>> counts_;  // culprit -> change points per group
  mutable std::vector<int> counted_for_;         // the tested commits counts_ was made for
  mutable std::vector<double> pair_lik_;         // [g * groups + h]
  mutable std::vector<double> prob_, prob_new_, rate_post_, flake_post_, disp_post_;
  mutable std::vector<int> group_;  // culprit -> group id
  mutable int map_ = 1, runner_up_ = -1;
  std::vector<double> prior_;  // over culprits
};

}  // namespace rb::bisect
