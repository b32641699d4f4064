// Bisection drivers behind one interface, so the simulator (and tests) can
// compare them on the same oracle. Commits are 0..n-1 with 0 good and n-1
// bad; both ends are trusted (checked before bisecting starts), so they are
// never tested and never counted. A build is counted once per distinct
// commit that gets a trial.
#pragma once
#include <functional>
#include <string>
#include <utility>

#include "bisect/planner.h"
#include "bisect/posterior.h"
#include "stats/sprt.h"

namespace rb::bisect {

// Runs one trial on `commit`; returns true if it failed.
using TrialFn = std::function<bool(int commit)>;

struct BisectOutcome {
  int culprit = -1;
  // Posterior probability of `culprit` given the evidence this strategy
  // gathered (default PosteriorParams): the probabilistic strategy's stopping
  // value; for the others, how sure they had a right to be.
  double confidence = 0;
  long trials = 0;
  int builds = 0;
  bool budget_exhausted = false;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  virtual BisectOutcome run(int n_commits, const TrialFn& run_trial) const = 0;
};

// Classic binary search; a commit is bad if any of N trials fails (stopping
// at the first failure). N = 10 is syzbot's classic rule (10 runs per step,
// bad if any crashed).
class FixedNBisect : public Strategy {
 public:
  explicit FixedNBisect(int n_trials) : n_(n_trials) {}
  std::string name() const override;
  BisectOutcome run(int n_commits, const TrialFn& run_trial) const override;

 private:
  int n_;
};

// Binary search with an SPRT per step, as `git bisect run` with our step
// runner does. Inconclusive (budget spent without a decision: failures too
// rare to call bad, too many to call good) counts as good: `git bisect skip`
// would only move to a neighbour with the same ambiguity and could loop, and
// "no convincing failure within budget" is the same call the step would make
// for a good commit.
class SprtBisect : public Strategy {
 public:
  explicit SprtBisect(stats::SprtParams params = {}) : params_(params) {}
  std::string name() const override { return "sprt"; }
  BisectOutcome run(int n_commits, const TrialFn& run_trial) const override;

 private:
  stats::SprtParams params_;
};

// Posterior + planner loop: test what the planner picks until the top
// culprit reaches `confidence` or the cost (trials + build_cost * builds)
// reaches `budget`; then report the most probable culprit.
//
// It first runs the bad end (built already when the range was checked, so no
// build is counted; its trials are) until it has failed `learn_failures`
// times, at most 200 trials. The planner values trials only for what they
// say about the culprit, so it never asks there by itself; but without a
// failure anywhere the rate posterior keeps mass near zero, where passes
// prove nothing, and a culprit at the top of the range (nothing below it
// ever fails) then costs hundreds of trials to confirm.
class ProbabilisticBisect : public Strategy {
 public:
  ProbabilisticBisect(PosteriorParams params = {}, double confidence = 0.99, double budget = 20000,
                      PlannerParams planner = {}, int learn_failures = 1)
      : params_(std::move(params)),
        planner_(std::move(planner)),
        confidence_(confidence),
        budget_(budget),
        learn_failures_(learn_failures) {}
  std::string name() const override;
  BisectOutcome run(int n_commits, const TrialFn& run_trial) const override;

 private:
  PosteriorParams params_;
  PlannerParams planner_;
  double confidence_, budget_;
  int learn_failures_;
};

}  // namespace rb::bisect
