#include "cli/step_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "util/fs.h"
#include "util/process.h"

namespace rb::cli {
namespace {

TEST(StepRunnerIssue7, DefaultsRarelyCallATwoPercentRaceGood) {
  // No rate learnt yet (the first step of `git bisect run`): p1 = --min-rate.
  const auto rule = bisect::resolve_step_rule(StepFlags{}.rule, std::nullopt);
  const auto odds = bisect::step_odds(rule, 0.02);
  EXPECT_LE(odds.clean, 0.05) << "P(call a 2%-rate bad commit good) with the defaults";
  // and still calls a clean commit clean (not inconclusive) almost always.
  EXPECT_GE(bisect::step_odds(rule, 0.0).clean, 0.99);
}

TEST(StepRunnerIssue7, SessionKeyCoversEverythingThatChangesTheFailureRate) {
  TempDir dir(fs::temp_directory_path(), "key");
  run_checked({"git", "init", "-q", dir.path().string()});
  const fs::path frag = dir.path() / "extra.config", kase = dir.path() / "case.toml";
  write_file_atomic(frag, "CONFIG_A=y\n");
  run::Case c;
  c.name = "x";
  c.file = kase;
  write_file_atomic(kase, "name = 'x'\n");
  StepFlags base;
  base.fragments = {frag.string()};
  const std::string k0 = bisect_session_key(base, c, dir.path(), "a", "b", false);
  std::vector<std::pair<std::string, std::function<void(StepFlags&)>>> changes = {
      {"duration", [](StepFlags& f) { f.duration_ms = 3000; }},
      {"trials per boot", [](StepFlags& f) { f.trials_per_boot = 4; }},
      {"vcpus", [](StepFlags& f) { f.vcpus = 4; }},
      {"memory", [](StepFlags& f) { f.memory_mb = 1024; }},
      {"hugepages", [](StepFlags& f) { f.hugepages = 16; }},
      {"accelerator", [](StepFlags& f) { f.accel = "tcg"; }},
      {"signature", [](StepFlags& f) { f.signature = "BUG"; }},
      {"args", [](StepFlags& f) { f.args = {"variant=minor"}; }},
  };
  for (auto& [what, change] : changes) {
    StepFlags f = base;
    change(f);
    EXPECT_NE(bisect_session_key(f, c, dir.path(), "a", "b", false), k0) << what;
  }
  write_file_atomic(frag, "CONFIG_A=n\n");
  EXPECT_NE(bisect_session_key(base, c, dir.path(), "a", "b", false), k0) << "fragment contents";
  write_file_atomic(frag, "CONFIG_A=y\n");
  write_file_atomic(kase, "name = 'x'\nduration_ms = 1\n");
  EXPECT_NE(bisect_session_key(base, c, dir.path(), "a", "b", false), k0) << "case file contents";
}

}  // namespace
}  // namespace rb::cli
