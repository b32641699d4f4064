// Runs the race test on one commit of a git tree: build it (incrementally,
// cached), then boot as many times as needed, feeding each finished trial to
// a decision callback that can stop the VM at once. Shared by `bisect-step`
// (SPRT decides) and `bisect` (the planner decides how many trials).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "kernel/build.h"
#include "run/campaign.h"
#include "run/case.h"
#include "store/store.h"

namespace rb::run {

struct RunnerConfig {
  Case kase;
  std::filesystem::path repo;                    // git work tree to build from
  std::vector<std::filesystem::path> patches;    // applied on top of every commit
  std::vector<std::filesystem::path> fragments;  // case fragments + extras
  Args args;                                     // guest args
  int trials_per_boot = 8, duration_ms = 2000, hugepages = 64, vcpus = 2, memory_mb = 512;
  vm::Accel accel = vm::Accel::Auto;
  // The target: the guest test's own failure always counts; a crash counts
  // only if its title contains `signature` (empty: no crash counts). Every
  // other crash is recorded as "other" and never steers a decision.
  std::string signature;
  std::filesystem::path cache, out;
};

struct CommitCounts {
  int trials = 0, failures = 0, other = 0, boots = 0;
  int boots_without_trials = 0;
  std::vector<std::string> other_titles;  // crashes that did not match the signature
  double seconds = 0;
};

struct BuildOutcome {
  bool ok = false;
  kernel::BuildArtifact artifact;
  std::string error;
};

class CommitRunner {
 public:
  CommitRunner(RunnerConfig cfg, store::Store* db, int64_t session);
  // Build failures come back as !ok (the commit is untestable); bad input
  // (a fragment that cannot be satisfied, a patch that does not apply)
  // throws rb::Error(Usage).
  BuildOutcome build(const std::string& commit);
  // Runs up to `max_trials` trials; `on_trial(failed)` returns false to stop.
  // Gives up after 2 boots in a row without any trial (kernel does not boot).
  CommitCounts run(const std::string& commit, const kernel::BuildArtifact& k, int max_trials,
                   const std::function<bool(bool failed)>& on_trial);

 private:
  RunnerConfig cfg_;
  store::Store* db_;
  int64_t session_;
  std::string initramfs_;
  std::optional<vm::Accel> accel_;
  int boot_counter_ = 0;
};

}  // namespace rb::run
