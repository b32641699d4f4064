// The self-driving bisection: the one posterior + planner loop, used by
// `racebisect bisect` on real VMs and by bench/bisect_sim on simulated
// commits. It tests commits through a Tester and reads what they recorded
// through an EvidenceLog, rebuilding its state from the log, so a killed
// bisection resumes exactly where the evidence ends.
//
// Order: the affected end must reproduce (tested until it fails, or until
// zero failures bound its rate below min_rate; then on to a few failures,
// because one early failure says little about the rate); the clean end is
// tested until a failure at the learned rate would have shown with
// clean_power; then the planner picks steps until the top culprit reaches
// confidence; then the culprit is confirmed with the rate learnt by then
// (it reproduces; its parents and the clean end ran long enough) -- a
// confirmation that lowers the posterior just sends the loop back to
// searching. Every step is charged: a build, its
// trials, and empty_boot_cost per boot that yielded no trial, so a commit
// that never boots is skipped after its first step and the budget is never
// exceeded by more than one step.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bisect/evidence.h"
#include "bisect/planner.h"
#include "bisect/posterior.h"
#include "bisect/range.h"

namespace rb::bisect {

struct TestBuild {
  bool ok = false;
  bool cache_hit = false;
  std::string kernel_sha256;
};

struct TestCounts {
  int trials = 0, failures = 0, other = 0;
};

// Tests commits; records every build and boot in the evidence log the
// driver reads (the store for real VMs, memory for the simulator).
class Tester {
 public:
  virtual ~Tester() = default;
  virtual TestBuild build(const std::string& commit) = 0;
  // Runs up to `max_trials`; on_trial(failed) returns false to stop early.
  virtual TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) = 0;
};

struct DriverParams {
  double confidence = 0.99;
  double build_cost = 50;       // one build, in trial units
  double budget = 5000;         // trials + build_cost per build + empty_boot_cost per empty boot
  double min_rate = 0.01;       // the smallest failure rate the affected end may have
  double clean_power = 0.99;    // P(a failure at the learned rate would have shown) on clean commits
  int endpoint_trials = 8;      // trials per endpoint step
  int endpoint_failures = 3;    // failures wanted at the affected end (within the min_rate bound) to learn the rate
  double empty_boot_cost = 8;   // a boot without a trial, in trial units
  int slots = 1;                // commits tested side by side
  PosteriorParams posterior;    // posterior.fix: looking for the fix
  PlannerParams planner;        // its build_cost is set from build_cost
};

// Every way a bisection ends (cf. syzkaller pkg/bisect):
enum class Outcome {
  Found,          // one commit at >= confidence: it reproduces, its parents were tested clean
  NoOp,           // as Found, but its kernel is byte-identical to a parent's: most likely wrong
  Ambiguous,      // >= confidence that the culprit is one of `ambiguous`; only untestable commits separate them
  Inconclusive,   // the budget ran out, or nothing testable is left, below confidence
  NotReproduced,  // refused: the affected end never failed; zero failures bound its rate below min_rate
  RangeWrong,     // refused: the clean end shows the race too (the change is outside the range)
  EndUntestable,  // refused: an end does not build or never yields a trial
  Interrupted,    // stopped by the flag; rerun to resume from the recorded evidence
};
const char* to_string(Outcome o);

struct CommitReport {
  int node = 0;
  std::string commit, subject, kernel_sha256;
  int builds = 0, build_failures = 0, boots = 0, empty_boots = 0, trials = 0, failures = 0, other_crashes = 0;
  bool untestable = false;
  double p_new = 0, p_culprit = 0;
};

struct StepRecord {
  std::string kind;  // "affected-end", "clean-end", "search", "confirm"
  std::string commit, kernel_sha256;
  int trials = 0, failures = 0, boots = 0, empty_boots = 0;
  bool build_failed = false;
  std::string top_commit;  // the most probable culprit after this step
  double top_probability = 0, cost = 0;
};

// Boots that crashed with another title, old side vs new side of the culprit.
struct OtherCrashShift {
  int old_boots = 0, old_crashes = 0, new_boots = 0, new_crashes = 0;
  double p_value = 1;  // Fisher's exact test, two-sided
  bool changed = false;  // p < 0.01
};

struct Result {
  Outcome outcome = Outcome::Inconclusive;
  std::string why;
  bool fix = false;
  double confidence = 0;
  int culprit = -1;  // node; -1 unless Found/NoOp
  std::string culprit_commit, culprit_subject;
  double posterior = 0;                 // of the most probable culprit
  std::vector<std::string> ambiguous;   // commits no testable commit separates from it (Ambiguous, or listed)
  double ambiguous_posterior = 0;
  std::vector<std::pair<std::string, double>> top;  // most probable culprits
  double p_range_wrong = 0;
  double rate_mean = 0, rate_low = 0, rate_high = 0, flake_mean = 0;  // learned rates (90% band)
  std::vector<CommitReport> commits;  // every commit with evidence, in range order
  std::vector<StepRecord> steps;      // every step, including those of interrupted runs
  OtherCrashShift other;
  int builds = 0, boots = 0;
  long trials = 0;
  double cost = 0, budget = 0, wall_seconds = 0;
  int range_size = 0;
};

// A step event as the driver records it in the log (JSON); nullopt for other events.
std::optional<StepRecord> parse_step_event(const std::string& text);

class Driver {
 public:
  Driver(const CommitRange& range, DriverParams params, EvidenceLog& log, Tester& tester);
  Result run(const std::atomic<bool>& interrupted);
  // The current state as a result, without testing anything: Found/NoOp
  // when the top culprit is at confidence (unconfirmed), else Inconclusive.
  Result replay() const;
  Result snapshot(Outcome outcome, std::string why) const;
  const CulpritPosterior& posterior() const { return post_; }
  int builds() const;
  long trials() const;
  double cost() const;

 private:
  struct Node {
    CommitEvidence ev;
    int unlogged_empty = 0;  // steps without trials that left no boot in the log
    bool built() const { return ev.builds > 0; }
  };
  void load();
  void absorb(int x, CommitEvidence ev);
  bool untestable(int x) const;
  bool test(int x, int trials, bool stop_at_failure, const std::string& kind);
  void run_parallel(const std::vector<Step>& steps);
  void record_step(int x, const std::string& kind, const CommitEvidence& before);
  void note(const std::string& text);
  int clean_trials_needed(const std::vector<int>& reference) const;
  double clean_end_bayes_factor() const;
  bool flake_like(const CommitEvidence& e) const;
  std::optional<Result> check_ends(const std::atomic<bool>& interrupted);
  std::optional<Result> at_confidence(int c, double top);
  std::optional<Result> search(int c, double top);
  std::optional<Step> confirmation_step(int c) const;
  std::optional<Step> strengthening_step(int c) const;
  int clean_trials_to_confidence(int x, int c) const;
  std::vector<Step> plan(const CulpritPosterior& by) const;
  static PosteriorParams without_rate_change(PosteriorParams p);
  static DriverParams with_change_floor(DriverParams p);
  std::vector<int> unsplittable_group(int c) const;
  std::optional<int> identical_parent(int c) const;
  OtherCrashShift other_crash_shift(int c) const;
  Result finish(Outcome o, std::string why);

  const CommitRange& range_;
  DriverParams params_;
  EvidenceLog& log_;
  Tester& tester_;
  std::vector<Node> nodes_;
  CulpritPosterior post_;   // the robust model: decides when to stop
  CulpritPosterior plain_;  // the same without rate_change: steers the search
  std::vector<StepRecord> steps_;
  int affected_end_, clean_end_;
  double started_ = 0;
};

}  // namespace rb::bisect
