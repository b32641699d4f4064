// Picks the next commit to test and how many trials to run there, by
// expected information gain about the culprit per unit cost.
//
// Gain: testing commit i answers (noisily) "is c <= i?". Under the planner's
// approximation that the rate p is independent of where the culprit is
// (using the current marginal rate posterior), the expected entropy drop of
// the culprit posterior is exactly the mutual information between that
// yes/no and the number of failures k in t trials:
//   I(B) = sum_k  B m_k log(m_k/P_k) + (1-B) e_k log(e_k/P_k),
// B = P(i bad), m_k = P(k | bad) (binomial mixed over the rate posterior),
// e_k = P(k | good) = Binomial(t, epsilon), P_k = B m_k + (1-B) e_k.
// Cost: t trials, plus build_cost if commit i was never built.
//
// I(B) depends on i only through B and is concave in it, so among unbuilt
// commits the best sit where the posterior CDF crosses some level: the
// candidates are the commits at CDF quantiles (and their left neighbours)
// plus every built commit. Built commits being candidates is what makes the
// planner go back to an earlier commit when the evidence conflicts: a few
// cheap trials there can be worth more than a new build.
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
  int quantiles = 16;  // CDF levels probed for unbuilt candidates
  // Overhead of any step (a VM boot), in trials; it steers the choice only
  // (callers count trials and builds). Without it the greedy ratio prefers
  // long runs of 1-trial steps at built commits, which in simulation spend
  // more trials in total, not fewer; from 4 to 16 the totals barely move.
  double step_cost = 4;
};

class Planner {
 public:
  // Reads `posterior` on every call, so it must outlive the planner.
  explicit Planner(const CulpritPosterior& posterior, PlannerParams params = {});

  // A commit is built once marked or once it has evidence.
  void mark_built(int commit);
  // A commit that cannot be built is never planned; its nearest testable
  // neighbours stand in for it (git bisect's "skip").
  void mark_untestable(int commit);
  bool built(int commit) const;

  Step plan() const;
  // Up to `slots` (at most 12) distinct steps to run at once. The first is
  // plan(); each next one maximises the extra joint information of the set
  // per unit of its own cost, i.e. it is chosen as if the earlier picks will
  // be tested too. For the joint value each test's outcome is reduced to
  // "any failure or none", and tests are taken as independent given the
  // culprit -- a heuristic, exact only when the rate is known.
  std::vector<Step> plan_parallel(int slots) const;
  bool done(double confidence) const { return post_.top_probability() >= confidence; }

  // Expected entropy drop in bits of running `trials` trials at `commit`.
  double expected_gain(int commit, int trials) const;
  double cost(int commit, int trials) const {
    return trials + params_.step_cost + (built(commit) ? 0 : params_.build_cost);
  }
  std::vector<int> candidates() const;

 private:
  struct Channel {  // outcome distributions for one trial count
    int trials;
    std::vector<double> bad, good;  // P(k failures | bad), P(k | good)
    double any_bad, any_good;       // P(k > 0 | bad), P(k > 0 | good)
    double h_bad, h_good;           // entropies of bad and good, bits
  };
  Channel channel(int trials) const;
  static double gain(const Channel& ch, double b);

  const CulpritPosterior& post_;
  PlannerParams params_;
  std::vector<bool> built_, untestable_;
};

}  // namespace rb::bisect
