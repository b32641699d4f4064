#include "stats/exposure.h"

namespace rb::stats {

std::optional<TrialExposure> trial_exposure(const record::TrialRecord& t) {
  if (t.outcome != record::Outcome::Pass && t.outcome != record::Outcome::Fail) return std::nullopt;
  TrialExposure e;
  e.failed = t.outcome == record::Outcome::Fail;
  // A failure time past the trial's end cannot be (clock trouble): fall back
  // to the whole trial, and say so.
  const bool timed = e.failed && t.first_bogus_ms >= 0 && t.first_bogus_ms <= t.ms;
  e.imputed = e.failed && !timed;
  e.seconds = (timed ? t.first_bogus_ms : std::max(0L, t.ms)) / 1000.0;
  return e;
}

ExposureSummary summarize_exposure(const std::vector<record::BootRecord>& boots, double confidence) {
  ExposureSummary s;
  for (const auto& b : boots) {
    int boot_failures = 0;
    double boot_seconds = 0;
    for (const auto& t : b.trials) {
      auto e = trial_exposure(t);
      if (!e) continue;
      ++s.trials;
      boot_failures += e->failed;
      boot_seconds += e->seconds;
      s.imputed += e->imputed;
    }
    s.failures += boot_failures;
    s.seconds += boot_seconds;
    s.per_boot.push_back({boot_failures, boot_seconds});
  }
  s.rate = poisson_rate(s.failures, s.seconds, confidence);
  s.dispersion = poisson_dispersion(s.per_boot);
  return s;
}

}  // namespace rb::stats
