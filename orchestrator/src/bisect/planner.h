// Picks the next commit to test and how many trials to run there, by
// expected information gain about the culprit per unit cost.
//
// Gain: testing commit x answers (noisily) "does x show the new behaviour?",
// i.e. "is the culprit an ancestor-or-self of x?". Taking the rates as
// independent of where the culprit is (their current marginal posteriors),
// the expected entropy drop of the culprit posterior is the mutual
// information between that yes/no and the number of failures k in t trials:
//   I(B) = H(B m + (1-B) e) - B H(m) - (1-B) H(e),
// B = P(x new), m_k = P(k | new), e_k = P(k | old) (sums of beta-binomial
// boots mixed over the posteriors of the rates and of the intra-boot
// correlation: the affected rate on the affected side, the flake rate on the
// other). With binomials instead, a clean run would look more telling than
// the posterior will take it, and the planner would keep revisiting. Cost: the trials a step is expected to run (it stops at its
// first failure) + a step overhead, plus build_cost if x was never built.
//
// I(B) depends on x only through B and is concave in it, so among unbuilt
// commits the best sit where P(new) crosses some level: the candidates are,
// per level, the commits just above and just below it (on a DAG, the
// nearest values from any branch), plus every built commit. Built commits
// being candidates is what makes the planner go back when evidence
// conflicts: a few cheap trials there can be worth more than a new build.
#pragma once
#include <vector>

#include "bisect/posterior.h"

namespace rb::bisect {

struct Step {
  int commit = -1;  // -1: nothing left worth testing
  int trials = 0;
};

struct PlannerParams {
  double build_cost = 50;  // one build, in trials
  std::vector<int> trial_options = {1, 2, 4, 8, 16, 32};
  int quantiles = 16;  // P(new) levels probed for unbuilt candidates
  // Overhead of any step (a VM boot), in trials; it steers the choice only
  // (callers count trials and builds). Without it the greedy ratio prefers
  // long runs of 1-trial steps at built commits, which in simulation spend
  // more trials in total, not fewer.
  double step_cost = 4;
  // Trials within a boot are correlated (posterior.h): a step of t trials is
  // ceil(t / trials_per_boot) boots, and its outcome distribution says so.
  int trials_per_boot = 8;
};

class Planner {
 public:
  // Reads `posterior` on every call, so it must outlive the planner.
  explicit Planner(const CulpritPosterior& posterior, PlannerParams params = {});

  // A commit is built once marked or once it has evidence.
  void mark_built(int commit);
  // Never planned (build failed, never boots); its nearest testable
  // neighbours stand in for it (git bisect's "skip").
  void mark_untestable(int commit);
  bool built(int commit) const;
  bool untestable(int commit) const { return untestable_[commit]; }

  Step plan() const;
  // Up to `slots` (at most 12) distinct steps to run at once. The first is
  // plan(); each next one maximises the extra joint information of the set
  // per unit of its own cost. For the joint value each test's outcome is
  // reduced to "any failure or none", and tests are taken as independent
  // given the culprit -- a heuristic, exact only when the rates are known.
  std::vector<Step> plan_parallel(int slots) const;
  bool done(double confidence) const { return post_.top_probability() >= confidence; }

  // Expected entropy drop in bits of running `trials` trials at `commit`.
  double expected_gain(int commit, int trials) const;
  // Steps stop at their first failure (it all but settles "new or old"), so
  // a step's trials are expected ones: fewer where the commit may fail.
  double cost(int commit, int trials) const;
  std::vector<int> candidates() const;

 private:
  struct Channel {  // outcome distributions for one trial count
    int trials;
    std::vector<double> fresh, old;  // P(k failures | new), P(k | old)
    double any_new, any_old;         // P(k > 0 | new), P(k > 0 | old)
    double h_new, h_old;             // entropies, bits
    double t_new, t_old;             // expected trials when stopping at the first failure
  };
  double cost(int commit, const Channel& ch) const;
  Channel channel(int trials) const;
  static double gain(const Channel& ch, double b);

  const CulpritPosterior& post_;
  PlannerParams params_;
  std::vector<bool> built_, untestable_;
};

}  // namespace rb::bisect
