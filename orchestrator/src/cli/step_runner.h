// Flags shared by `bisect-step` and `bisect`, the session key that decides
// which recorded evidence may be pooled, and the test of one commit under
// the shared step rule (bisect/step_rule.h).
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bisect/step_rule.h"
#include "run/commit_runner.h"
#include "run/settings.h"
#include "store/store.h"

namespace rb::cli {

struct StepFlags {
  std::string case_file, source, db, out, accel = "auto", signature;
  std::vector<std::string> patches, fragments, args, connect;
  bisect::StepRuleParams rule;  // p1 and max_trials 0: rate-aware defaults
  int trials_per_boot = 8, duration_ms = 2000;
  std::optional<int> hugepages, vcpus, memory_mb;
};

void add_step_flags(CLI::App* sub, StepFlags& f);
// The settings of a bisection step on the git work tree `repo`.
run::Settings step_settings(const StepFlags& f, const std::filesystem::path& repo);

// The key of the evidence a session may pool: Settings::identity() (all that
// changes the failure rate: case file, fragments, patches, duration, trials
// per boot, vCPUs, memory, hugepages, accelerator, args, signature), the
// guest test binary's bytes, the work tree, plus `extra` (ends, direction).
std::string session_key(const run::Settings& s, const std::vector<std::string>& extra);
std::string bisect_session_key(const run::Settings& s, const std::string& good, const std::string& bad, bool fix);

enum class StepDecision { Reproduces, Clean, Skip };

struct StepResult {
  StepDecision decision = StepDecision::Skip;
  std::string why;       // SPRT figures or the skip reason
  std::string evidence;  // one line: builds, trials, failures, rate [CI], other outcomes
  run::CommitCounts counts;
};

// Builds `commit` and runs trials until the step rule decides or its budget
// ends. `learned`: pooled counts of commits that reproduced in this session.
StepResult run_commit_step(const StepFlags& f, const run::Settings& s, const std::string& commit, store::Store& db,
                           int64_t session, std::optional<bisect::LearnedRate> learned);

}  // namespace rb::cli
