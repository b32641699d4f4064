// Wald's sequential probability ratio test for one commit's trials:
// H0 "good: failure rate <= p0" against H1 "bad: failure rate >= p1".
// With p0 near zero a single failure moves the log-likelihood ratio by
// log(p1/p0) (~5.7 for 0.3 vs 0.001): one failure is almost decisive, while
// each pass only adds log((1-p1)/(1-p0)), so accepting "good" costs about
// log(beta/(1-alpha)) / log((1-p1)/(1-p0)) clean trials (13 for the defaults).
#pragma once

namespace rb::stats {

struct SprtParams {
  double p0 = 0.001;
  double p1 = 0.3;
  double alpha = 0.01;  // P(accept H1 | H0): call a good commit bad
  double beta = 0.01;   // P(accept H0 | H1): call a bad commit good
  int max_trials = 40;  // budget: Inconclusive when exhausted
};

enum class SprtDecision { Continue, Good, Bad, Inconclusive };
const char* to_string(SprtDecision d);

class Sprt {
 public:
  explicit Sprt(SprtParams p);
  SprtDecision add(bool failed);
  SprtDecision decision() const { return decision_; }
  double llr() const { return llr_; }
  double lower() const { return lower_; }  // accept H0 at or below
  double upper() const { return upper_; }  // accept H1 at or above
  int trials() const { return trials_; }
  int failures() const { return failures_; }
  // Clean trials needed to accept H0 from the start.
  int trials_to_accept_good() const;

 private:
  SprtParams p_;
  double lower_, upper_, llr_ = 0, fail_step_, pass_step_;
  int trials_ = 0, failures_ = 0;
  SprtDecision decision_ = SprtDecision::Continue;
};

}  // namespace rb::stats
