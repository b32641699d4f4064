// Flags and the SPRT-driven test of one commit, shared by `bisect-step` and
// the endpoint checks of `bisect`.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "run/settings.h"
#include "run/commit_runner.h"
#include "store/store.h"

namespace rb::cli {

struct StepFlags {
  std::string case_file, source, db, out, accel = "auto", signature;
  std::vector<std::string> patches, fragments, args, connect;
  double p0 = 0.001, p1 = 0.3, alpha = 0.01, beta = 0.01;
  int max_trials = 40, trials_per_boot = 8, duration_ms = 2000;
  std::optional<int> hugepages, vcpus, memory_mb;
};

void add_step_flags(CLI::App* sub, StepFlags& f);
// The settings of a bisection step on the git work tree `repo`.
run::Settings step_settings(const StepFlags& f, const std::filesystem::path& repo);

enum class StepDecision { Reproduces, Clean, Skip };

struct StepResult {
  StepDecision decision = StepDecision::Skip;
  std::string why;       // SPRT figures or the skip reason
  std::string evidence;  // one line: builds, trials, failures, rate [CI], other outcomes
  run::CommitCounts counts;
};

// Builds `commit` and runs trials until the SPRT decides or the budget ends.
StepResult run_commit_step(const StepFlags& f, const run::Settings& s, const std::string& commit, store::Store& db,
                           int64_t session);

}  // namespace rb::cli
