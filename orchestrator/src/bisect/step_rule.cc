#include "bisect/step_rule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "stats/binomial.h"

namespace rb::bisect {

namespace {

constexpr double kMaxP1 = 0.5;

StepVerdict from_sprt(stats::SprtDecision d) {
  switch (d) {
    case stats::SprtDecision::Bad: return StepVerdict::Reproduces;
    case stats::SprtDecision::Good: return StepVerdict::Clean;
    case stats::SprtDecision::Inconclusive: return StepVerdict::Inconclusive;
    default: return StepVerdict::Continue;
  }
}

}  // namespace

const char* to_string(StepVerdict v) {
  switch (v) {
    case StepVerdict::Continue: return "continue";
    case StepVerdict::Reproduces: return "reproduces";
    case StepVerdict::Clean: return "clean";
    case StepVerdict::Inconclusive: return "inconclusive";
  }
  return "?";
}

StepRuleParams resolve_step_rule(StepRuleParams p, std::optional<LearnedRate> learned) {
  if (!(p.min_rate > 0 && p.min_rate < 1)) throw std::invalid_argument("need 0 < min-rate < 1");
  if (p.p1 == 0) {
    p.p1 = p.min_rate;
    if (learned && learned->failures > 0) {
      // One-sided 90% lower bound: the rate a reproducing commit has at least.
      const auto ci = stats::clopper_pearson(static_cast<int>(learned->failures), static_cast<int>(learned->trials), 0.8);
      p.p1 = std::clamp(ci.low, p.min_rate, kMaxP1);
    }
  }
  if (!(p.p0 > 0 && p.p0 < p.p1 && p.p1 < 1)) throw std::invalid_argument("need 0 < p0 < p1 < 1");
  if (!(p.alpha > 0 && p.alpha < 0.5 && p.beta > 0 && p.beta < 0.5))
    throw std::invalid_argument("need 0 < alpha, beta < 0.5");
  if (p.max_trials == 0) {
    const stats::Sprt s({p.p0, p.p1, p.alpha, p.beta, 1});
    p.max_trials = static_cast<int>(std::ceil(1.5 * s.trials_to_accept_good()));
  }
  if (p.max_trials < 1) throw std::invalid_argument("need max-trials >= 1");
  return p;
}

StepRule::StepRule(const StepRuleParams& r) : sprt_({r.p0, r.p1, r.alpha, r.beta, r.max_trials}) {}

StepVerdict StepRule::add(bool failed) {
  if (verdict_ == StepVerdict::Continue) verdict_ = from_sprt(sprt_.add(failed));
  return verdict_;
}

StepVerdict FixedNRule::add(bool failed) {
  if (verdict_ != StepVerdict::Continue) return verdict_;
  ++trials_;
  if (failed) verdict_ = StepVerdict::Reproduces;
  else if (trials_ >= n_) verdict_ = StepVerdict::Clean;
  return verdict_;
}

StepOdds step_odds(const StepRuleParams& r, double rate) {
  // The SPRT's state is (trials, failures); walk the probability mass
  // trial by trial, absorbing it where a verdict is reached.
  StepOdds out;
  const stats::Sprt proto({r.p0, r.p1, r.alpha, r.beta, r.max_trials});
  const double fail = std::log(r.p1 / r.p0), pass = std::log((1 - r.p1) / (1 - r.p0));
  std::vector<double> mass{1.0};  // by failures, at the current trial count
  for (int n = 1; n <= r.max_trials; ++n) {
    std::vector<double> next(mass.size() + 1, 0.0);
    for (size_t k = 0; k < mass.size(); ++k) {
      out.mean_trials += mass[k];  // every path still undecided runs trial n
      next[k] += mass[k] * (1 - rate);
      next[k + 1] += mass[k] * rate;
    }
    double alive = 0;
    for (size_t k = 0; k < next.size(); ++k) {
      const double llr = k * fail + (n - static_cast<double>(k)) * pass;
      if (llr >= proto.upper()) out.reproduces += next[k], next[k] = 0;
      else if (llr <= proto.lower()) out.clean += next[k], next[k] = 0;
      else alive += next[k];
    }
    if (n == r.max_trials) out.inconclusive = alive;
    mass = std::move(next);
  }
  return out;
}

}  // namespace rb::bisect
