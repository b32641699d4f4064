// The self-driving bisection loop, independent of how a commit is tested:
// endpoints first, then posterior + planner until --confidence or the budget,
// then confirmation. Evidence lives in the store (the tester records every
// build and boot as it happens); the driver always rebuilds its state from
// there, so a killed bisection resumes exactly where the evidence ends.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "bisect/posterior.h"
#include "bisect/range.h"
#include "store/store.h"

namespace rb::bisect {

struct TestBuild {
  bool ok = false;
  bool cache_hit = false;
  std::string bzimage_sha256;
};

struct TestCounts {
  int trials = 0, failures = 0, other = 0;
};

// Tests commits; must record what it does in the store (builds, boots).
class Tester {
 public:
  virtual ~Tester() = default;
  virtual TestBuild build(const std::string& commit) = 0;
  // Runs up to `max_trials`; on_trial(failed) returns false to stop early.
  virtual TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) = 0;
};

struct DriverParams {
  bool fix = false;
  double confidence = 0.99;
  double build_cost = 50;
  double budget = 2000;      // trials + build_cost per build
  int endpoint_trials = 24;  // to see the bad end fail
  int slots = 1;             // commits tested side by side
  double p0 = 0.001, p1 = 0.3, alpha = 0.01, beta = 0.01;  // "stays clean" = SPRT accept-good count
};

enum class DriverOutcome { Found, BudgetExhausted, Refused, Interrupted };

struct DriverResult {
  DriverOutcome outcome = DriverOutcome::BudgetExhausted;
  std::string why;
  int culprit_position = -1;  // in range order: the commit that changed behaviour
  double posterior = 0;
};

class Driver {
 public:
  Driver(CommitRange range, DriverParams params, store::Store& db, int64_t session, Tester& tester);
  DriverResult run(const std::atomic<bool>& interrupted);
  // Current state, recomputed from the store.
  CulpritPosterior posterior() const;
  // Evidence table, culprit, runner-up, no-op warning, cost.
  std::string report(const DriverResult& r) const;
  int builds() const { return builds_; }
  long trials() const { return trials_; }

 private:
  void load();
  void event(const std::string& text);
  bool test(int model, int trials, const std::function<bool(bool)>& on_trial);
  void run_parallel(const std::vector<std::pair<int, int>>& steps);
  bool reproduces(int model);
  bool stays_clean(int model);
  double cost() const { return trials_ + params_.build_cost * builds_; }
  const std::string& commit_at(int model) const { return range_.commits[map_.to_range(model)]; }

  CommitRange range_;
  ModelMap map_;
  DriverParams params_;
  store::Store& db_;
  int64_t session_;
  Tester& tester_;
  std::vector<Evidence> table_;
  std::vector<bool> built_, untestable_;
  std::vector<std::string> sha256_;
  int builds_ = 0;
  long trials_ = 0;
};

}  // namespace rb::bisect
