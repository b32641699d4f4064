// The reproduction bundle's result files (results.json, summary.txt,
// rerun.sh), rewritten after every boot so that an interruption or an error
// late in a run never loses what was already measured.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "report/progress.h"
#include "report/summary.h"
#include "run/campaign.h"

namespace rb::report {

// JSON text that never throws: invalid UTF-8 from a console or a flag is
// replaced (U+FFFD) instead of aborting the whole run at the last step.
std::string dump_json(const nlohmann::json& j);

// A shell script that re-runs every boot of the bundle exactly.
std::string render_rerun(const run::CampaignResult& r);

struct BundleText {
  nlohmann::json results;
  std::string summary;  // the terminal table and verdict
};
// Summarises `r` into the bundle's texts; `extra` fields are added to the
// JSON; `stopping` is the sequential rule's state when it ran.
BundleText render_bundle(const run::Settings& s, const run::CampaignResult& r, const nlohmann::json& extra,
                         const stats::ReproduceStopping* stopping = nullptr);

// Progress of a campaign after `e` (counts, phase, ETA).
ProgressState campaign_progress(const run::Settings& s, const run::CampaignEvent& e, const run::CampaignResult& r,
                                const stats::ReproduceStopping* stopping = nullptr);

// Writes results.json, summary.txt and rerun.sh into `dir` atomically.
void write_bundle(const std::filesystem::path& dir, const BundleText& t, const run::CampaignResult& r);

}  // namespace rb::report
