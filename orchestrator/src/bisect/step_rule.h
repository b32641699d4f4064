// The per-commit decision of `git bisect run racebisect bisect-step`, in
// one place: cli/step_runner runs it on real VMs and bench/bisect_sim runs
// it as the baselines, so every figure the simulator prints for "git bisect
// + SPRT" or "git bisect + N retries" is this code's.
//
// Rate-aware defaults. An SPRT between p0 and p1 calls a commit failing at
// a rate far below p1 good almost surely (p1 0.3 calls a 2% race good 87%
// of the time, exactly). So p1 defaults to what the evidence supports: the
// lower confidence bound of the rate pooled over commits that reproduced
// in this session, never below `min_rate` (the smallest rate a bisection
// promises to catch) nor above 0.5; and the trial budget to 1.5x what the
// SPRT needs to call a clean commit good at that p1.
#pragma once
#include <optional>

#include "stats/sprt.h"

namespace rb::bisect {

enum class StepVerdict { Continue, Reproduces, Clean, Inconclusive };
const char* to_string(StepVerdict v);

struct StepRuleParams {
  double p0 = 0.001, p1 = 0, alpha = 0.01, beta = 0.01;  // p1 0: from the evidence
  int max_trials = 0;                                    // 0: 1.5x trials to accept good
  double min_rate = 0.01;
};

// Pooled counts over commits that reproduced (had a failure) so far.
struct LearnedRate {
  long trials = 0, failures = 0;
};

// Fills p1 and max_trials left at 0. Throws std::invalid_argument for
// inconsistent values (p0 >= p1, rates outside (0, 1)).
StepRuleParams resolve_step_rule(StepRuleParams p, std::optional<LearnedRate> learned);

// Wald's SPRT under the resolved parameters, with the budget.
class StepRule {
 public:
  explicit StepRule(const StepRuleParams& resolved);
  StepVerdict add(bool failed);
  StepVerdict verdict() const { return verdict_; }
  const stats::Sprt& sprt() const { return sprt_; }

 private:
  stats::Sprt sprt_;
  StepVerdict verdict_ = StepVerdict::Continue;
};

// git bisect with N retries: bad at the first failure, good after N passes.
class FixedNRule {
 public:
  explicit FixedNRule(int n) : n_(n) {}
  StepVerdict add(bool failed);

 private:
  int n_, trials_ = 0;
  StepVerdict verdict_ = StepVerdict::Continue;
};

// Exact probabilities of each verdict on a commit failing each trial with
// `rate`, and the expected number of trials (a walk over (trials, failures)).
struct StepOdds {
  double reproduces = 0, clean = 0, inconclusive = 0, mean_trials = 0;
};
StepOdds step_odds(const StepRuleParams& resolved, double rate);

}  // namespace rb::bisect
