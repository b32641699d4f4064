#include "report/stopping.h"

#include <fmt/format.h>

#include "report/text.h"

namespace rb::report {

namespace {

std::string counts(const stats::StopDecision& d) {
  return fmt::format("{} failure{} in {:.1f} racing-s", d.failures, d.failures == 1 ? "" : "s", d.exposure_s);
}

std::string unpatched_part(const stats::StopDecision& u, double side_confidence) {
  using stats::Finding;
  using stats::StopState;
  if (u.finding == Finding::RacePresent)
    return fmt::format("unpatched: race present{}, rate >= {} ({:.1f}% time-uniform bound), {}",
                       u.state == StopState::Cap ? " (at the cap)" : "", rate_per_s(u.lower), 100 * side_confidence,
                       counts(u));
  if (u.state == StopState::Cap) return "unpatched: race NOT shown within the cap, " + counts(u);
  return "unpatched: running, " + counts(u);
}

std::string patched_part(const stats::StopDecision& p, const stats::SequentialParams& params) {
  using stats::Finding;
  using stats::StopState;
  const std::string times = fmt::format("1/{:g}", 1 / params.fraction);
  switch (p.finding) {
    case Finding::Fixed:
      return fmt::format("patched: fixed, rate <= {}, at most {} of the unpatched lower bound, {}", rate_per_s(p.upper),
                         times, counts(p));
    case Finding::NotFixed:
      return fmt::format("patched: NOT fixed, rate >= {}, above {} of the unpatched upper bound, {}",
                         rate_per_s(p.lower), times, counts(p));
    default:
      break;
  }
  if (p.state == StopState::Cap)
    return fmt::format("patched: undecided at the cap, rate <= {} but the target was {}, {}", rate_per_s(p.upper),
                       rate_per_s(p.fixed_target), counts(p));
  return "patched: running, " + counts(p);
}

}  // namespace

std::string stopping_line(const stats::ReproduceStopping& s) {
  const double side = 1 - s.params().alpha / 2;
  std::string line = unpatched_part(s.unpatched(), side);
  if (s.patched().trials > 0 || s.patched().state != stats::StopState::Continue)
    line += "; " + patched_part(s.patched(), s.params());
  return line;
}

std::string progress_line(const stats::ReproduceStopping& s, bool patched) {
  if (!patched) {
    const auto& u = s.unpatched();
    return fmt::format("unpatched: {}, rate {} [{}, {}]", counts(u), rate_per_s(u.estimate), rate_per_s(u.lower),
                       rate_per_s(u.upper));
  }
  const auto& p = s.patched();
  const double target = s.params().fraction * s.unpatched().lower;
  if (!(target > 0)) return "patched: " + counts(p) + ", waiting for the unpatched kernel to show the race";
  return fmt::format("patched: {}, ~{:.1f} more clean racing-s to show it {:g}x lower", counts(p),
                     s.patched_sequence().clean_exposure_needed(target), 1 / s.params().fraction);
}

}  // namespace rb::report
