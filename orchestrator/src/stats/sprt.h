// Wald's sequential probability ratio test for one commit's trials:
// H0 "good: failure rate <= p0" against H1 "bad: failure rate >= p1",
// accepting H1 when the log-likelihood ratio reaches A = log((1-beta)/alpha)
// and H0 when it falls to B = log(beta/(1-alpha)).
//
// Consequence of a tiny p0: a failure adds log(p1/p0) and a pass adds
// log((1-p1)/(1-p0)). With the defaults (p0 0.001, p1 0.1, alpha = beta
// 0.01) a failure is worth +4.61 against A = 4.60, so a failure on the very
// first trial decides "bad" alone and a second failure decides it if at most
// 44 passes came before; a pass is worth only -0.104, so accepting "good"
// takes ceil(B / log((1-p1)/(1-p0))) = 45 clean trials from the start (13 for
// p1 = 0.3), or 89 if one failure is among them. The budget must exceed these
// or a good commit ends Inconclusive instead of Good.
#pragma once

namespace rb::stats {

struct SprtParams {
  double p0 = 0.001;     // failure rate still called good (false failures)
  double p1 = 0.1;       // smallest failure rate worth calling bad
  double alpha = 0.01;   // P(accept H1 | H0): call a good commit bad
  double beta = 0.01;    // P(accept H0 | H1): call a bad commit good
  int max_trials = 100;  // budget: Inconclusive when exhausted
};

enum class SprtDecision { Continue, Good, Bad, Inconclusive };
const char* to_string(SprtDecision d);

class Sprt {
 public:
  using Decision = SprtDecision;
  explicit Sprt(SprtParams p);
  // Records one trial; after a final decision further trials are ignored.
  Decision add(bool failed);
  Decision decision() const { return decision_; }
  double llr() const { return llr_; }
  double lower() const { return lower_; }  // B: accept H0 at or below
  double upper() const { return upper_; }  // A: accept H1 at or above
  int trials() const { return trials_; }
  int failures() const { return failures_; }
  // Clean trials needed to accept H0 from the start (45 for the defaults).
  int trials_to_accept_good() const;

 private:
  SprtParams p_;
  double lower_, upper_, llr_ = 0, fail_step_, pass_step_;
  int trials_ = 0, failures_ = 0;
  Decision decision_ = Decision::Continue;
};

}  // namespace rb::stats
