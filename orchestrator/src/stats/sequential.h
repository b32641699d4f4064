// Sequential stopping for `reproduce`: stop each kernel as soon as the
// question asked of it is answered, with error rates that hold however often
// the evidence is looked at.
//
// Method: time-uniform confidence sequences for a Poisson rate from mixture
// martingales (Ville's inequality; Robbins 1970; Howard, Ramdas, McAuliffe &
// Sekhon 2021, Ann. Statist. 49:1055). Trials are censored exponential
// observations, so after k failures in T racing-seconds, for any fixed
// alternative rate r*lambda0,
//   M(lambda0) = r^k exp(-(r - 1) lambda0 T)
// is a nonnegative martingale with mean 1 when the true rate is lambda0 (each
// trial's factor (r)^failed e^(-(r-1) lambda0 t) has expectation 1 under
// lambda0 whatever the trial's length), and so is any fixed mixture over r.
// Ville: P(sup_t M_t(lambda) >= 1/alpha) <= alpha at the true lambda, so
//   lower_t = sup{lambda0 : M_low_t(lambda0) >= 1/alpha}   (mixture over r > 1)
//   upper_t = inf{lambda0 : M_high_t(lambda0) >= 1/alpha}  (mixture over r < 1)
// hold at EVERY trial simultaneously with probability >= 1 - alpha each: the
// bounds may be checked after every trial, and the kernel stopped on any
// rule, without inflating the error.
//
// Why this and not alpha spending or Wald's SPRT: the question is about a
// bound relative to another kernel's bound (patched below 1/10 of the
// unpatched lower bound), which moves as the unpatched kernel runs; an SPRT
// needs both hypotheses fixed in advance, and alpha spending needs a fixed
// maximum and information schedule, while trials here end at random
// (censored at first failure) and the two kernels may run in any order or
// interleaved. A confidence sequence is valid for every stopping rule at
// once, and its price -- wider bounds than a fixed-sample interval -- is
// paid mostly where it does not matter (see the weights below).
//
// Assumption: trials are independent with one constant hazard. Boots that
// race at different rates (stats::poisson_dispersion flags them) make the
// bounds optimistic, as they make any pooled interval.
//
// Claims and their error rates (alpha = 0.05 by default, split evenly):
//   unpatched "race present": lower_u > 0, at confidence 1 - alpha/2;
//   patched "fixed": upper_p <= fraction * lower_u. It is false only if
//     lambda_p > fraction * lambda_u, which needs upper_p < lambda_p or
//     lower_u > lambda_u: probability <= alpha/2 + alpha/2 = alpha;
//   patched "not fixed": lower_p > fraction * upper_u, the mirror image,
//     error <= alpha.
#pragma once
#include <cmath>
#include <limits>
#include <string>

namespace rb::stats {

// One kernel's time-uniform bounds on its failures per racing-second.
class RateConfidenceSequence {
 public:
  // One-sided miss probabilities of the lower and the upper bound.
  RateConfidenceSequence(double alpha_low = 0.025, double alpha_high = 0.025);
  // One trial: did it fail, and its racing seconds (to the first failure, or
  // the whole trial). Negative, NaN or infinite seconds throw.
  void add(bool failed, double seconds);

  int trials() const { return trials_; }
  int failures() const { return failures_; }
  double exposure() const { return exposure_; }
  double estimate() const { return exposure_ > 0 ? failures_ / exposure_ : 0; }
  double lower() const;  // 0 until the data exclude small rates
  double upper() const;  // +inf before any exposure
  // Does the evidence already exclude every rate at or below (above) `rate`?
  // Cheaper than computing the bound: one mixture evaluation.
  bool excludes_at_or_below(double rate) const;
  bool excludes_at_or_above(double rate) const;
  // Clean (failure-free) exposure still needed before upper() <= rate, if no
  // failure comes; for progress lines and ETAs.
  double clean_exposure_needed(double rate) const;

 private:
  double log_m_low(double rate) const;
  double log_m_high(double rate) const;
  double alpha_low_, alpha_high_;
  int trials_ = 0, failures_ = 0;
  double exposure_ = 0;
};

enum class StopState { Continue, Shown, Cap };
enum class Finding { None, RacePresent, Fixed, NotFixed };
const char* to_string(StopState s);
const char* to_string(Finding f);

struct StopDecision {
  StopState state = StopState::Continue;
  Finding finding = Finding::None;
  int trials = 0, failures = 0;
  double exposure_s = 0;
  double estimate = 0, lower = 0, upper = std::numeric_limits<double>::infinity();
  // Patched only: fraction * the unpatched lower bound "fixed" had to beat,
  // and fraction * the unpatched upper bound "not fixed" had to exceed.
  double fixed_target = 0, not_fixed_target = std::numeric_limits<double>::infinity();
};

struct SequentialParams {
  double alpha = 0.05;          // error rate of each claim (split over the two bounds it uses)
  double fraction = 0.1;        // "fixed": patched rate below fraction x the unpatched lower bound
  double rel_precision = 0.5;   // unpatched stops once lower >= rel_precision x estimate
  double max_exposure_s = 600;  // per kernel, racing seconds
  int max_trials = 1000;        // per kernel
};
// Throws std::invalid_argument naming the parameter when out of range.
void validate(const SequentialParams& p);

// The stopping rule of `reproduce`: feed each kernel's trials as they finish,
// in any order or interleaving; each add returns that kernel's decision. A
// decision other than Continue is final for that kernel (later trials are
// ignored), except that a patched kernel keeps its decision even if the
// unpatched one later moves.
//
// Unpatched: Shown(RacePresent) once lower_u > 0 and lower_u >= rel_precision
// x estimate (the race is there, and its rate is known well enough to be a
// useful yardstick: a tighter lower bound makes the patched kernel's target
// easier; 0.5 is near the best total time, see docs); Cap at a limit --
// still RacePresent if lower_u > 0, else no finding.
// Patched: Shown(Fixed) once upper_p <= fraction x lower_u; Shown(NotFixed)
// once lower_p > fraction x upper_u; Cap at a limit.
class ReproduceStopping {
 public:
  explicit ReproduceStopping(SequentialParams p = {});
  StopDecision add_unpatched(bool failed, double seconds);
  StopDecision add_patched(bool failed, double seconds);
  StopDecision unpatched() const { return unpatched_; }
  StopDecision patched() const { return patched_; }
  const RateConfidenceSequence& unpatched_sequence() const { return u_; }
  const RateConfidenceSequence& patched_sequence() const { return p_; }
  const SequentialParams& params() const { return params_; }

 private:
  bool capped(const RateConfidenceSequence& cs) const;
  StopDecision snapshot(const RateConfidenceSequence& cs) const;
  void decide_unpatched();
  void decide_patched();
  SequentialParams params_;
  RateConfidenceSequence u_, p_;
  StopDecision unpatched_, patched_;
};

}  // namespace rb::stats
