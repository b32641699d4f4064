#include "bisect/strategies.h"

#include <cstdio>
#include <vector>

namespace rb::bisect {

namespace {

// Counts trials and distinct builds, and keeps the evidence table so every
// strategy can report the posterior probability of its answer.
class Meter {
 public:
  Meter(int n, const TrialFn& fn) : fn_(fn), table_(n) {}
  bool trial(int commit) {
    Evidence& e = table_[commit];
    if (e.trials++ == 0) ++builds_;
    ++trials_;
    const bool failed = fn_(commit);
    e.failures += failed;
    return failed;
  }
  BisectOutcome finish(int culprit) const {
    const int n = static_cast<int>(table_.size());
    const auto post = CulpritPosterior::replay(n, {}, table_);
    return {culprit, post.probabilities()[culprit], trials_, builds_, false};
  }
  long trials() const { return trials_; }
  int builds() const { return builds_; }

 private:
  const TrialFn& fn_;
  std::vector<Evidence> table_;
  long trials_ = 0;
  int builds_ = 0;
};

// Binary search with a pluggable "is this commit bad?" test.
template <class IsBad>
BisectOutcome binary_search(int n, Meter& meter, IsBad is_bad) {
  int good = 0, bad = n - 1;
  while (bad - good > 1) {
    const int mid = good + (bad - good) / 2;
    (is_bad(mid) ? bad : good) = mid;
  }
  return meter.finish(bad);
}

}  // namespace

std::string FixedNBisect::name() const { return "fixed-N=" + std::to_string(n_); }

BisectOutcome FixedNBisect::run(int n, const TrialFn& run_trial) const {
  Meter meter(n, run_trial);
  return binary_search(n, meter, [&](int c) {
    for (int i = 0; i < n_; ++i)
      if (meter.trial(c)) return true;
    return false;
  });
}

BisectOutcome SprtBisect::run(int n, const TrialFn& run_trial) const {
  Meter meter(n, run_trial);
  return binary_search(n, meter, [&](int c) {
    stats::Sprt sprt(params_);
    while (sprt.add(meter.trial(c)) == stats::SprtDecision::Continue) {
    }
    return sprt.decision() == stats::SprtDecision::Bad;  // Inconclusive -> good
  });
}

std::string ProbabilisticBisect::name() const {
  if (params_.epsilon == PosteriorParams{}.epsilon) return "probabilistic";
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", params_.epsilon);
  return std::string("prob eps=") + eps;
}

BisectOutcome ProbabilisticBisect::run(int n, const TrialFn& run_trial) const {
  CulpritPosterior post(n, params_);
  Planner planner(post, planner_);
  long trials = 0;
  int builds = 0;
  bool exhausted = false;
  for (int failures = 0; failures < learn_failures_ && trials < 200 && trials < budget_;) {
    const bool failed = run_trial(n - 1);
    failures += failed;
    ++trials;
    post.observe(n - 1, 1, failed);
  }
  while (!planner.done(confidence_)) {
    if (trials + planner_.build_cost * builds >= budget_) {
      exhausted = true;
      break;
    }
    const Step s = planner.plan();
    if (s.commit < 0) break;
    if (!planner.built(s.commit)) ++builds, planner.mark_built(s.commit);
    int failures = 0;
    for (int i = 0; i < s.trials; ++i) failures += run_trial(s.commit);
    trials += s.trials;
    post.observe(s.commit, s.trials, failures);
  }
  return {post.map_culprit(), post.top_probability(), trials, builds, exhausted};
}

}  // namespace rb::bisect
