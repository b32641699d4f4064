// The JSON documents of docs/SCHEMA.md: writers for a night, a comparison
// and a history, pieces the reproduce results gain in schema version 2
// (exposure rates, sequential stopping), and strict readers for the run
// documents `compare A B` accepts from files.
//
// Numbers that can be unbounded (an upper bound with no exposure, a ratio
// with no failure on one side) are written as null: JSON has no infinity.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "record/night.h"
#include "report/compare.h"
#include "report/trend.h"
#include "stats/exposure.h"
#include "stats/sequential.h"

namespace rb::report {

inline constexpr const char* kNightSchema = "racebisect.night/1";
inline constexpr const char* kCompareSchema = "racebisect.compare/1";
inline constexpr const char* kHistorySchema = "racebisect.history/1";
inline constexpr const char* kResultsSchema = "racebisect.results/2";  // reproduce's results.json

// results.json, per kernel: "exposure": {...} (schema 2).
nlohmann::json exposure_json(const stats::ExposureSummary& e, double confidence);
// results.json, per kernel: "stopping": {...} when the sequential rule ran.
nlohmann::json stopping_json(const stats::StopDecision& d, const stats::SequentialParams& p);

nlohmann::json night_json(const record::Night& n, double confidence = 0.95);
nlohmann::json comparison_json(const Comparison& c);
nlohmann::json history_json(const std::vector<record::Night>& nights, const std::vector<CellTrend>& trends);

// Reads a run document for `compare`: a night document (schema
// racebisect.night/1) or a reproduce results.json (schema 1 without a
// "schema" key, or racebisect.results/2), whose kernels become cells.
// Anything malformed is a usage error naming `source` and the JSON path,
// e.g. "b.json: cells[2].trials: expected an integer >= 0".
record::Night run_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace rb::report
