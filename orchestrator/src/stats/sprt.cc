#include "stats/sprt.h"

#include <cmath>

namespace rb::stats {

const char* to_string(SprtDecision d) {
  switch (d) {
    case SprtDecision::Continue: return "continue";
    case SprtDecision::Good: return "good";
    case SprtDecision::Bad: return "bad";
    case SprtDecision::Inconclusive: return "inconclusive";
  }
  return "?";
}

Sprt::Sprt(SprtParams p)
    : p_(p),
      lower_(std::log(p.beta / (1 - p.alpha))),
      upper_(std::log((1 - p.beta) / p.alpha)),
      fail_step_(std::log(p.p1 / p.p0)),
      pass_step_(std::log((1 - p.p1) / (1 - p.p0))) {}

Sprt::Decision Sprt::add(bool failed) {
  if (decision_ != Decision::Continue) return decision_;
  ++trials_;
  failures_ += failed;
  llr_ += failed ? fail_step_ : pass_step_;
  if (llr_ >= upper_) decision_ = Decision::Bad;
  else if (llr_ <= lower_) decision_ = Decision::Good;
  else if (trials_ >= p_.max_trials) decision_ = Decision::Inconclusive;
  return decision_;
}

int Sprt::trials_to_accept_good() const { return static_cast<int>(std::ceil(lower_ / pass_step_)); }

}  // namespace rb::stats
