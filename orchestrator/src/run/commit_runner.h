// Runs the race test on one commit of a git tree: build it (incrementally,
// cached), then boot as many times as needed through the trial runner,
// feeding each finished trial to a decision callback that can stop the VM at
// once, and recording every build and boot in the history store. Shared by
// `bisect-step` (SPRT decides) and `bisect` (the planner decides).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "kernel/build.h"
#include "run/settings.h"
#include "run/trial_runner.h"
#include "store/store.h"

namespace rb::run {

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
  // `s.source.path` is the git work tree; `s.patches` go on top of every
  // commit; `s.trials` is the most trials one boot runs; console logs go to
  // `s.out`.
  CommitRunner(Settings s, store::Store* db, int64_t session);
  // Build failures come back as !ok (the commit is untestable); bad input
  // (a fragment that cannot be satisfied, a patch that does not apply)
  // throws rb::Error(Usage).
  BuildOutcome build(const std::string& commit);
  // Runs up to `max_trials` trials; `on_trial(failed)` returns false to stop.
  // Gives up after 2 boots in a row without any trial (kernel does not boot).
  CommitCounts run(const std::string& commit, const kernel::BuildArtifact& k, int max_trials,
                   const std::function<bool(bool failed)>& on_trial);

 private:
  void count(const BootRecord& b, CommitCounts& c) const;
  // The --connect host boots go to (empty: the backend's default); after a
  // host failure, the next host still up. Throws Infrastructure when none is.
  std::string host_after(const BootRecord* failed);

  Settings s_;
  store::Store* db_;
  int64_t session_;
  TrialRunner runner_;
  size_t host_ = 0;  // index into s_.hosts
};

}  // namespace rb::run
