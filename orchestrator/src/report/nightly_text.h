// Terminal text for `nightly`, `compare` and `history`: one line per cell,
// every figure with its interval, so a CI log alone says what changed.
#pragma once
#include <string>
#include <vector>

#include "record/night.h"
#include "report/compare.h"
#include "report/trend.h"
#include "store/history.h"

namespace rb::report {

// Per cell: baseline and current rates with intervals, the change, the
// Holm-adjusted p-value and the verdict; then the counts and the exit code.
std::string comparison_text(const Comparison& c);
// One night's cells (no baseline yet).
std::string night_text(const record::Night& n);
// The nights, then per cell its rate night by night and the trend test.
std::string history_text(const std::vector<store::NightInfo>& nights, const std::vector<CellTrend>& trends);

}  // namespace rb::report
