// Nightly CI: `nightly` runs a matrix of cells (kernel x guest variant) as
// one night, records it in the history and compares it with a baseline;
// `compare` compares any two recorded runs (or result files); `history`
// follows cells night by night. The statistics are report/compare.h's; this
// module wires campaign -> night record -> history -> comparison -> files.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "record/night.h"
#include "report/compare.h"
#include "report/trend.h"
#include "run/campaign.h"
#include "run/matrix.h"
#include "store/history.h"

namespace rb::nightly {

struct Config {
  run::Matrix matrix;
  run::Settings settings;              // the matrix resolved: one kernel per cell
  std::filesystem::path db;            // history database
  std::string baseline = "previous";   // previous | pinned | latest | night id
  bool pin = false;                    // pin this night as the baseline afterwards
  report::CompareParams compare;
};

// Outcomes, for the exit code:
//   no baseline yet (first night)  -> 0, or 3 if a cell could not run;
//   compared                       -> report::Comparison::exit_code()
//                                     (1 regression, 3 infrastructure, 0);
//   interrupted                    -> 130, nothing recorded.
struct Result {
  record::Night night;
  std::optional<int64_t> baseline_id;
  std::optional<report::Comparison> comparison;
  std::vector<report::CellTrend> trends;  // every recorded night of this matrix, this one included
  bool interrupted = false;
  int exit_code() const;
};

// Runs the matrix, records the night, compares it and writes night.json,
// compare.json, junit.xml and report.html into config.settings.out.
Result run(const Config& c, const run::CampaignObserver& on_change = {});

// The night a campaign over the matrix's cells makes (console paths relative
// to the run directory, oops excerpts read from the consoles).
record::Night to_night(const run::Matrix& m, const run::Settings& s, const run::CampaignResult& r);

// A run for `compare`: "previous", "latest", "pinned", a night id, or the
// path of a night.json / results.json.
record::Night load_run(store::History& h, const std::string& ref);

// "night 12 (2026-11-25T02:00:00Z)": how reports name a recorded night.
std::string night_label(const record::Night& n);

// Writes the night's files (night.json, compare.json when compared,
// junit.xml, report.html) into `dir`.
void write_reports(const std::filesystem::path& dir, const Result& r);

}  // namespace rb::nightly
