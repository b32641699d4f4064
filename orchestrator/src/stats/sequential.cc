#include "stats/sequential.h"

#include <boost/math/tools/toms748_solve.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "stats/checks.h"

namespace rb::stats {

using detail::kInf;

namespace {

struct Component {
  double log_weight, ratio, log_ratio;
};

// `count` ratios spaced geometrically over [lo, hi], sharing `mass`.
void add_geometric(std::vector<Component>& out, double lo, double hi, int count, double mass) {
  for (int i = 0; i < count; ++i) {
    const double r = lo * std::pow(hi / lo, count == 1 ? 0.0 : static_cast<double>(i) / (count - 1));
    out.push_back({std::log(mass / count), r, std::log(r)});
  }
}

// Mixture for the LOWER bound (alternatives above the tested rate). Where
// the weight goes decides where the bound is tight. 80% on ratios 1.15-2.5:
// a stopped unpatched kernel has ~15-60 failures, and its lower bound is
// then 0.5-0.8 of its estimate, so these are the alternatives that set it
// (the bound reaches ~77% of a fixed-sample Garwood bound at 20 failures,
// ~83% at 40). 20% on 3-1000 so that the first few failures already give a
// positive bound. A flat mixture over 1.02-2000 would reach only ~65% at 20.
const std::vector<Component>& low_mixture() {
  static const std::vector<Component> m = [] {
    std::vector<Component> v;
    add_geometric(v, 1.15, 2.5, 10, 0.8);
    add_geometric(v, 3.0, 1000.0, 10, 0.2);
    return v;
  }();
  return m;
}

// Mixture for the UPPER bound (alternatives below). A patched kernel should
// never fail, so 80% goes on ratio 0 ("no failure at all"), whose term is
// e^(lambda0 T) while no failure has happened: the bound after T clean
// seconds is log(1/(0.8 alpha))/T, only ~6% above the fixed-sample
// log(1/alpha)/T. The other 20% on ratios 0.02-0.8 keep the bound finite
// and useful if a failure does come (it is then about 2-3x wider).
constexpr double kZeroRatioWeight = 0.8;
const std::vector<Component>& high_mixture() {
  static const std::vector<Component> m = [] {
    std::vector<Component> v;
    add_geometric(v, 0.02, 0.8, 10, 1 - kZeroRatioWeight);
    return v;
  }();
  return m;
}

double log_sum_exp(const std::vector<double>& terms) {
  double top = -kInf;
  for (double t : terms) top = std::max(top, t);
  if (top == -kInf) return -kInf;
  double s = 0;
  for (double t : terms) s += std::exp(t - top);
  return top + std::log(s);
}

void check_alpha(double a, const char* what) {
  if (!(a > 0 && a < 1)) throw std::invalid_argument(std::string(what) + " must be in (0, 1)");
}

// Root of a monotone f on [lo, hi] in log-rate space (TOMS 748: bracketing,
// so it cannot wander off; ~10 evaluations to 1e-12 relative).
template <class F>
double solve_log(F f, double lo, double hi) {
  const double a = std::log(lo), b = std::log(hi);
  const double fa = f(a), fb = f(b);
  if (fa == 0) return lo;
  if (fb == 0) return hi;
  std::uintmax_t iters = 100;
  auto r = boost::math::tools::toms748_solve(f, a, b, fa, fb, boost::math::tools::eps_tolerance<double>(40), iters);
  return std::exp((r.first + r.second) / 2);
}

}  // namespace

RateConfidenceSequence::RateConfidenceSequence(double alpha_low, double alpha_high)
    : alpha_low_(alpha_low), alpha_high_(alpha_high) {
  check_alpha(alpha_low, "alpha_low");
  check_alpha(alpha_high, "alpha_high");
}

void RateConfidenceSequence::add(bool failed, double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds))
    throw std::invalid_argument("RateConfidenceSequence: racing seconds must be finite and >= 0");
  ++trials_;
  failures_ += failed;
  exposure_ += seconds;
}

// log M_low(rate) = log sum_j w_j r_j^k exp(-(r_j - 1) rate T); decreasing in rate.
double RateConfidenceSequence::log_m_low(double rate) const {
  std::vector<double> terms;
  for (const auto& c : low_mixture())
    terms.push_back(c.log_weight + failures_ * c.log_ratio - (c.ratio - 1) * rate * exposure_);
  return log_sum_exp(terms);
}

// log M_high(rate) = log [w_0 [k = 0] e^(rate T) + sum_j w_j r_j^k e^((1 - r_j) rate T)]; increasing in rate.
double RateConfidenceSequence::log_m_high(double rate) const {
  std::vector<double> terms;
  if (failures_ == 0) terms.push_back(std::log(kZeroRatioWeight) + rate * exposure_);
  for (const auto& c : high_mixture())
    terms.push_back(c.log_weight + failures_ * c.log_ratio + (1 - c.ratio) * rate * exposure_);
  return log_sum_exp(terms);
}

bool RateConfidenceSequence::excludes_at_or_below(double rate) const {
  return failures_ > 0 && log_m_low(std::max(rate, 0.0)) >= -std::log(alpha_low_);
}

bool RateConfidenceSequence::excludes_at_or_above(double rate) const {
  return exposure_ > 0 && rate > 0 && log_m_high(rate) >= -std::log(alpha_high_);
}

double RateConfidenceSequence::lower() const {
  // M_low at the estimate is <= 1 (each term is r^k e^-(r-1)k <= 1), so the
  // bound lies below the estimate; at rate -> 0 the mixture is sum w r^k.
  if (failures_ == 0 || exposure_ <= 0 || !excludes_at_or_below(0)) return 0;
  const double threshold = -std::log(alpha_low_);
  const double hat = estimate();
  double lo = hat * 1e-12;
  if (log_m_low(lo) < threshold) return 0;  // excluded only rates below 1e-12 x the estimate
  return solve_log([&](double lr) { return log_m_low(std::exp(lr)) - threshold; }, lo, hat);
}

double RateConfidenceSequence::upper() const {
  if (exposure_ <= 0) return kInf;
  const double threshold = -std::log(alpha_high_);
  // M_high at the estimate is <= 1, so the bound lies above it.
  double lo = failures_ > 0 ? estimate() : 1e-12 / exposure_;
  double hi = std::max(2 * lo, 1 / exposure_);
  while (log_m_high(hi) < threshold) hi *= 2;
  return solve_log([&](double lr) { return log_m_high(std::exp(lr)) - threshold; }, lo, hi);
}

double RateConfidenceSequence::clean_exposure_needed(double rate) const {
  if (!(rate > 0)) return kInf;
  if (excludes_at_or_above(rate)) return 0;
  // More clean exposure only raises M_high(rate): find the first T' that
  // reaches the threshold, by doubling then bisection on a copy.
  RateConfidenceSequence more = *this;
  double extra = std::max(1.0, exposure_);
  for (;;) {
    more.exposure_ = exposure_ + extra;
    if (more.excludes_at_or_above(rate)) break;
    extra *= 2;
  }
  double lo = 0, hi = extra;
  while (hi - lo > 1e-6 * hi) {
    const double mid = (lo + hi) / 2;
    more.exposure_ = exposure_ + mid;
    (more.excludes_at_or_above(rate) ? hi : lo) = mid;
  }
  return hi;
}

const char* to_string(StopState s) {
  switch (s) {
    case StopState::Continue: return "continue";
    case StopState::Shown: return "shown";
    case StopState::Cap: return "cap";
  }
  return "?";
}

const char* to_string(Finding f) {
  switch (f) {
    case Finding::None: return "none";
    case Finding::RacePresent: return "race-present";
    case Finding::Fixed: return "fixed";
    case Finding::NotFixed: return "not-fixed";
  }
  return "?";
}

void validate(const SequentialParams& p) {
  if (!(p.alpha > 0 && p.alpha < 1)) throw std::invalid_argument("sequential alpha must be in (0, 1)");
  if (!(p.fraction > 0 && p.fraction <= 1)) throw std::invalid_argument("sequential fraction must be in (0, 1]");
  if (!(p.rel_precision >= 0 && p.rel_precision < 1))
    throw std::invalid_argument("sequential rel_precision must be in [0, 1)");
  if (!(p.max_exposure_s > 0) || std::isinf(p.max_exposure_s))
    throw std::invalid_argument("sequential max_exposure_s must be finite and > 0");
  if (p.max_trials <= 0) throw std::invalid_argument("sequential max_trials must be > 0");
}

// validate() runs before any member is built: bad parameters never make a half-built object.
ReproduceStopping::ReproduceStopping(SequentialParams p)
    : params_((validate(p), p)), u_(p.alpha / 2, p.alpha / 2), p_(p.alpha / 2, p.alpha / 2) {
  unpatched_ = snapshot(u_);
  patched_ = snapshot(p_);
}

bool ReproduceStopping::capped(const RateConfidenceSequence& cs) const {
  return cs.exposure() >= params_.max_exposure_s || cs.trials() >= params_.max_trials;
}

StopDecision ReproduceStopping::snapshot(const RateConfidenceSequence& cs) const {
  StopDecision d;
  d.trials = cs.trials();
  d.failures = cs.failures();
  d.exposure_s = cs.exposure();
  d.estimate = cs.estimate();
  d.lower = cs.lower();
  d.upper = cs.upper();
  return d;
}

StopDecision ReproduceStopping::add_unpatched(bool failed, double seconds) {
  if (unpatched_.state != StopState::Continue) return unpatched_;
  u_.add(failed, seconds);
  decide_unpatched();
  // A tighter unpatched bound may settle a patched kernel that already ran.
  if (patched_.state == StopState::Continue && p_.trials() > 0) decide_patched();
  return unpatched_;
}

StopDecision ReproduceStopping::add_patched(bool failed, double seconds) {
  if (patched_.state != StopState::Continue) return patched_;
  p_.add(failed, seconds);
  decide_patched();
  return patched_;
}

void ReproduceStopping::decide_unpatched() {
  StopDecision d = snapshot(u_);
  const bool present = d.lower > 0;
  if (present && d.lower >= params_.rel_precision * d.estimate) {
    d.state = StopState::Shown;
    d.finding = Finding::RacePresent;
  } else if (capped(u_)) {
    d.state = StopState::Cap;
    d.finding = present ? Finding::RacePresent : Finding::None;
  }
  unpatched_ = d;
}

void ReproduceStopping::decide_patched() {
  StopDecision d = snapshot(p_);
  d.fixed_target = params_.fraction * unpatched_.lower;
  d.not_fixed_target = params_.fraction * unpatched_.upper;
  if (d.fixed_target > 0 && p_.excludes_at_or_above(d.fixed_target)) {
    d.state = StopState::Shown;
    d.finding = Finding::Fixed;
  } else if (std::isfinite(d.not_fixed_target) && p_.excludes_at_or_below(d.not_fixed_target)) {
    d.state = StopState::Shown;
    d.finding = Finding::NotFixed;
  } else if (capped(p_)) {
    d.state = StopState::Cap;
  }
  patched_ = d;
}

}  // namespace rb::stats
