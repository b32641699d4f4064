// A cell night by night, for `history` and the HTML report: its rate with
// an interval per night, and a trend test over the nights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "record/night.h"
#include "report/compare.h"
#include "stats/trend.h"

namespace rb::report {

struct NightPoint {
  int64_t night_id = 0;
  std::string started_at;
  CellStats stats;
  std::string bzimage_sha256;  // to mark nights where the kernel changed
};

struct CellTrend {
  std::string cell;
  std::vector<NightPoint> points;  // chronological; nights where the cell did not run are absent
  stats::TrendTest per_trial;      // Cochran-Armitage over the points (score = position)
  stats::TrendTest exposure;       // Poisson score test over the points with racing time
};

// Every cell that ran in any of the nights, in order of first appearance;
// nights are sorted by start time (then id) first. A night where a cell
// could not run (build error, no trial) adds no point.
std::vector<CellTrend> cell_trends(std::vector<record::Night> nights, double confidence = 0.95);

}  // namespace rb::report
