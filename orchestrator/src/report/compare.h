// Comparing two runs cell by cell, for `compare`, `nightly` and the reports
// they write: per cell an exact two-sample test, the effect with its
// interval, Holm's correction across cells, and a verdict a CI can gate on.
//
// Verdicts (alpha = family-wise level, 0.05 by default):
//   regression    Holm-adjusted p <= alpha and the current rate is higher;
//   improvement   Holm-adjusted p <= alpha and the current rate is lower;
//   no change     not significant, AND the (1 - alpha) interval of the effect
//                 excludes every change of the stated minimal size: the
//                 interval of the difference lies within (-min, +min), or
//                 (exposure rates) that of the ratio within (1/min_ratio,
//                 min_ratio). A change that matters would have been seen.
//   inconclusive  not significant, but the interval still contains a change
//                 of the minimal size: too few trials to tell. When no
//                 outcome of the cell's trial counts could reach
//                 significance at all (Boschloo's smallest attainable p >
//                 alpha), the reason says that instead.
//   infrastructure the cell has no completed trial (or no racing time) on
//                 one side: nothing to compare; kept out of the Holm family.
//   missing       the cell exists in one run only.
// Which rate: by default (Auto) per-trial proportions (Boschloo; Newcombe
// interval for the difference). Failures per racing-second (exact
// conditional test on the rate ratio; difference interval from
// Bonferroni-combined Garwood bounds) only when asked (Measure::Exposure):
// the Poisson test assumes a constant rate over all racing time, but a race
// that fails in most trials is timed by how soon the host schedules its
// threads, so host load alone moves that rate tenfold between two nights of
// the same kernel (1.83/s -> 19.0/s in CI), and the test calls it a change.
// A trial is bounded, so its pass/fail does not swing with load like that.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "record/night.h"
#include "stats/binomial.h"
#include "stats/poisson.h"

namespace rb::report {

enum class Measure { PerTrial, Exposure };
enum class CellVerdict { Regression, Improvement, NoChange, Inconclusive, Infrastructure, Missing };
const char* to_string(Measure m);
const char* to_string(CellVerdict v);

// One cell of one run with its intervals.
struct CellStats {
  int trials = 0, failures = 0;
  double proportion = 0;
  stats::Interval proportion_ci{0, 1};  // Wilson
  stats::RateEstimate rate;             // Garwood
  bool runnable = false;                // built, and at least one completed trial
};
CellStats cell_stats(const record::CellResult& c, double confidence = 0.95);

struct CompareParams {
  double alpha = 0.05;             // family-wise, Holm across the compared cells
  Measure measure = Measure::PerTrial;  // per trial: robust to host load (docs/NIGHTLY.md)
  double min_difference = 0.3;     // per trial: smallest change in failure probability that matters
  double min_rate_difference = 0.1;  // per racing-second: rates closer than this are the same race
  double min_ratio = 3;            // rates within a factor of this are the same race
};
// Throws rb::Error (usage) naming the parameter when out of range.
void validate(const CompareParams& p);

struct CellComparison {
  std::string cell;
  std::optional<record::CellResult> a, b;  // baseline, current (absent: missing on that side)
  CellStats sa, sb;
  Measure measure = Measure::PerTrial;
  double p_value = 1, adjusted_p = 1;
  double difference = 0;                     // b - a: proportion or rate per second
  stats::Interval difference_ci{-1, 1};
  double ratio = 0;                          // b / a (exposure only; NaN when both are 0)
  stats::Interval ratio_ci{0, 0};
  CellVerdict verdict = CellVerdict::Inconclusive;
  std::string reason;                        // one line, for people
  std::vector<std::string> identity_changes; // e.g. "bzImage sha256", "patches"
};

struct Comparison {
  std::string baseline_label, current_label;  // e.g. "night 12 (2026-11-24)"
  CompareParams params;
  std::vector<CellComparison> cells;          // current run's order, then cells only in the baseline
  int count(CellVerdict v) const;
  // 1 if any regression; else 3 if any cell is an infrastructure error; else 0.
  int exit_code() const;
};

Comparison compare_runs(const record::Night& baseline, const record::Night& current, const CompareParams& p = {});

// Which parts of a kernel's identity differ: "source", "patches", "config", "bzImage".
std::vector<std::string> identity_changes(const record::KernelIdentity& a, const record::KernelIdentity& b);

}  // namespace rb::report
