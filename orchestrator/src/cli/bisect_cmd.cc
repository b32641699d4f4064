#include "cli/bisect_cmd.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bisect/driver.h"
#include "bisect/range.h"
#include "cli/step_runner.h"
#include "kernel/source.h"
#include "run/case.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"

namespace rb::cli {

namespace {

// Exit codes of `bisect`.
constexpr int kFound = 0, kBudget = 1, kRefused = 4, kInterrupted = 130;

struct BisectFlags {
  StepFlags step;
  std::string good, bad;
  bool fix = false, log = false, replay = false;
  bisect::DriverParams driver;
};

// Real commits: build in the private work tree, boot QEMU, record to SQLite.
// One CommitRunner per call keeps parallel slots independent.
class VmTester : public bisect::Tester {
 public:
  VmTester(run::Settings s, store::Store& db, int64_t session) : s_(std::move(s)), db_(db), session_(session) {}

  bisect::TestBuild build(const std::string& commit) override {
    std::lock_guard lock(build_mu_);
    run::CommitRunner runner(s_, &db_, session_);
    auto b = runner.build(commit);
    if (b.ok) {
      std::lock_guard l2(mu_);
      artifacts_[commit] = b.artifact;
    }
    return {b.ok, b.artifact.cache_hit, b.artifact.bzimage_sha256};
  }

  bisect::TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) override {
    kernel::BuildArtifact a;
    {
      std::lock_guard l(mu_);
      a = artifacts_.at(commit);
    }
    run::CommitRunner runner(s_, &db_, session_);
    auto c = runner.run(commit, a, max_trials, on_trial);
    return {c.trials, c.failures, c.other};
  }

 private:
  run::Settings s_;
  store::Store& db_;
  int64_t session_;
  std::mutex mu_, build_mu_;
  std::map<std::string, kernel::BuildArtifact> artifacts_;
};

int run_bisect(BisectFlags f) {
  if (f.driver.confidence <= 0.5 || f.driver.confidence >= 1) throw usage_error("--confidence must be in (0.5, 1)");
  const fs::path repo = kernel::git(f.step.source.empty() ? fs::current_path() : fs::path(f.step.source),
                                    {"rev-parse", "--show-toplevel"});
  const run::Settings settings = step_settings(f.step, repo);
  const run::Case& c = settings.kase;
  auto range = bisect::commit_range(repo, f.good, f.bad);
  if (f.driver.slots <= 0) {
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    f.driver.slots = std::max(1, cores / std::max(1, f.step.vcpus.value_or(c.vcpus)));
  }
  f.driver.p0 = f.step.p0;
  f.driver.p1 = f.step.p1;
  f.driver.alpha = f.step.alpha;
  f.driver.beta = f.step.beta;
  store::Store db(f.step.db.empty() ? cache_root() / "history.db" : fs::path(f.step.db));
  // The session key names everything that makes evidence comparable.
  Sha256 key;
  key.field("bisect-v1").field(fs::canonical(repo).string()).field(range.commits.front()).field(range.commits.back());
  key.field(c.name).field(f.fix ? "fix" : "regression").field(f.step.signature);
  for (const auto& p : f.step.patches) key.field(read_file(p));
  for (const auto& a : f.step.args) key.field(a);
  const int64_t session = db.session(key.hex(), "bisect",
                                     nlohmann::json{{"repo", repo.string()},
                                                    {"good", range.commits.front()},
                                                    {"bad", range.commits.back()},
                                                    {"fix", f.fix},
                                                    {"case", c.name}}
                                         .dump());
  if (f.log) {
    for (const auto& [at, text] : db.events(session)) std::cout << at << "  " << text << "\n";
    return 0;
  }
  f.driver.fix = f.fix;
  VmTester tester(settings, db, session);
  bisect::Driver driver(range, f.driver, db, session, tester);
  if (f.replay) {
    bisect::DriverResult r;
    r.why = "replayed from recorded evidence";
    std::cout << driver.report(r);
    return 0;
  }
  spdlog::info("bisecting {} commits ({}), session {}: {} trial(s), {} build(s) already recorded", range.commits.size(),
               f.fix ? "looking for the fix" : "looking for the regression", session, driver.trials(),
               driver.builds());
  auto r = driver.run(run::g_interrupted);
  if (r.outcome == bisect::DriverOutcome::Refused) {
    std::cout << "refused: " << r.why << "\n";
    return kRefused;
  }
  std::cout << driver.report(r);
  switch (r.outcome) {
    case bisect::DriverOutcome::Found: return kFound;
    case bisect::DriverOutcome::Interrupted: return kInterrupted;
    default: return kBudget;
  }
}

}  // namespace

std::function<int()> add_bisect(CLI::App& app) {
  auto f = std::make_shared<BisectFlags>();
  auto* sub = app.add_subcommand(
      "bisect",
      "Self-driving probabilistic bisection between --good and --bad (exit 0 found at --confidence, 1 budget "
      "exhausted, 2 bad input, 3 infrastructure, 4 endpoints refused, 130 interrupted: rerun to resume)");
  add_step_flags(sub, f->step);
  sub->add_option("--good", f->good, "old end: the race does not reproduce (with --fix: it still does)")->required();
  sub->add_option("--bad", f->bad, "new end: the race reproduces (with --fix: it is fixed)")->required();
  sub->add_flag("--fix", f->fix, "look for the commit that fixed the race");
  sub->add_option("--confidence", f->driver.confidence, "stop when the top commit's posterior reaches this (default 0.99)");
  sub->add_option("--budget", f->driver.budget, "cost budget in trial units (a build costs --build-cost; default 2000)");
  sub->add_option("--build-cost", f->driver.build_cost, "cost of one kernel build in trial units (default 50)");
  sub->add_option("--endpoint-trials", f->driver.endpoint_trials, "trials allowed to see the bad end fail (default 24)");
  sub->add_option("--slots", f->driver.slots, "commits tested side by side (default: host cores / vCPUs)");
  sub->add_flag("--log", f->log, "print the recorded history of this bisection and exit");
  sub->add_flag("--replay", f->replay, "recompute the posterior from recorded evidence and exit");
  return [f, sub]() -> int { return sub->parsed() ? run_bisect(*f) : -1; };
}

}  // namespace rb::cli
