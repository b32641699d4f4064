#include "cli/step_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "stats/sprt.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb::cli {
namespace {

// Exact P(decision) of the shipped step rule on a commit failing each trial
// with `rate`: a walk over (trials, failures), every path weighted.
std::map<stats::SprtDecision, double> exact_decisions(const StepFlags& f, double rate) {
  std::map<stats::SprtDecision, double> out;
  std::function<void(stats::Sprt, double)> walk = [&](stats::Sprt s, double w) {
    if (w < 1e-15) return;
    if (s.decision() != stats::SprtDecision::Continue) {
      out[s.decision()] += w;
      return;
    }
    stats::Sprt fail = s, pass = s;
    fail.add(true);
    pass.add(false);
    walk(fail, w * rate);
    walk(pass, w * (1 - rate));
  };
  walk(stats::Sprt({f.p0, f.p1, f.alpha, f.beta, f.max_trials}), 1.0);
  return out;
}

TEST(StepRunnerIssue7, DefaultsRarelyCallATwoPercentRaceGood) {
  const auto d = exact_decisions(StepFlags{}, 0.02);
  const double good = d.count(stats::SprtDecision::Good) ? d.at(stats::SprtDecision::Good) : 0;
  EXPECT_LE(good, 0.05) << "P(call a 2%-rate bad commit good) with the defaults";
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
