#include "cli/step_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "run/case.h"
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
  // A copy of the shipped case (its fragments and patches linked) so its
  // bytes can change; the key is built from resolved Settings as `bisect` does.
  TempDir dir(fs::temp_directory_path(), "key");
  const fs::path kernels = dir.path() / "kernels", repo = dir.path() / "repo";
  fs::create_directories(kernels / "cases");
  run_checked({"git", "init", "-q", repo.string()});
  const fs::path shipped = run::default_case_path().parent_path().parent_path();
  for (const char* sub : {"fragments", "patches"}) fs::create_directory_symlink(shipped / sub, kernels / sub);
  const fs::path frag = dir.path() / "extra.config", kase = kernels / "cases" / "case.toml";
  const std::string case_text = read_file(run::default_case_path());
  write_file_atomic(frag, "CONFIG_A=y\n");
  write_file_atomic(kase, case_text);
  StepFlags base;
  base.case_file = kase.string();
  base.fragments = {frag.string()};
  auto key = [&](const StepFlags& f) { return bisect_session_key(step_settings(f, repo), "a", "b", false); };
  const std::string k0 = key(base);
  EXPECT_EQ(key(base), k0) << "the same settings must pool their evidence";
  std::vector<std::pair<std::string, std::function<void(StepFlags&)>>> changes = {
      {"duration", [](StepFlags& f) { f.duration_ms = 3000; }},
      {"trials per boot", [](StepFlags& f) { f.trials_per_boot = 4; }},
      {"vcpus", [](StepFlags& f) { f.vcpus = 4; }},
      {"memory", [](StepFlags& f) { f.memory_mb = 1024; }},
      {"hugepages", [](StepFlags& f) { f.hugepages = 48; }},
      {"accelerator", [](StepFlags& f) { f.accel = "tcg"; }},
      {"signature", [](StepFlags& f) { f.signature = "BUG"; }},
      {"args", [](StepFlags& f) { f.args = {"variant=minor"}; }},
  };
  for (auto& [what, change] : changes) {
    StepFlags f = base;
    change(f);
    EXPECT_NE(key(f), k0) << what;
  }
  EXPECT_NE(bisect_session_key(step_settings(base, repo), "a", "b", true), k0) << "direction";
  write_file_atomic(frag, "CONFIG_A=n\n");
  EXPECT_NE(key(base), k0) << "fragment contents";
  write_file_atomic(frag, "CONFIG_A=y\n");
  write_file_atomic(kase, case_text + "# another case\n");
  EXPECT_NE(key(base), k0) << "case file contents";
}

}  // namespace
}  // namespace rb::cli
