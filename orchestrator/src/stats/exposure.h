// Racing exposure from run records: what a trial contributes to a
// failures-per-racing-second rate (see stats/poisson.h for the model).
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "record/records.h"
#include "stats/poisson.h"

namespace rb::stats {

struct TrialExposure {
  bool failed = false;
  double seconds = 0;    // racing time: to the first failure if failed, else the whole trial
  bool imputed = false;  // failed without a first-failure time: counted with its whole length
};

// Only Pass and Fail trials race; infra/skip trials return nullopt. A failing
// trial's clock stops at its first bogus event (first_bogus_ms): after that
// the trial is no longer at risk of a *first* failure, so counting its
// remaining time would dilute the rate. The guest measures both times from
// the same start, just before the pages are installed (a few ms early).
std::optional<TrialExposure> trial_exposure(const record::TrialRecord& t);

struct ExposureSummary {
  int trials = 0, failures = 0, imputed = 0;
  double seconds = 0;
  RateEstimate rate;                            // Garwood at the confidence asked for
  std::vector<std::pair<int, double>> per_boot;  // (failures, seconds), for the dispersion check
  DispersionTest dispersion;                     // are boots' rates one rate?
};
ExposureSummary summarize_exposure(const std::vector<record::BootRecord>& boots, double confidence = 0.95);

}  // namespace rb::stats
