#include "cli/bisect_cmd.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bisect/driver.h"
#include "bisect/range.h"
#include "bisect/store_log.h"
#include "cli/step_runner.h"
#include "kernel/source.h"
#include "report/bisect_report.h"
#include "run/case.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/stop.h"

namespace rb::cli {

namespace {

// Exit codes of `bisect` (2 bad input and 3 infrastructure come from main).
int exit_code(bisect::Outcome o) {
  switch (o) {
    case bisect::Outcome::Found: return 0;
    case bisect::Outcome::Inconclusive: return 1;
    case bisect::Outcome::NotReproduced:
    case bisect::Outcome::RangeWrong:
    case bisect::Outcome::EndUntestable: return 4;
    case bisect::Outcome::Ambiguous: return 5;
    case bisect::Outcome::NoOp: return 6;
    case bisect::Outcome::Interrupted: return 130;
  }
  return 1;
}

struct BisectFlags {
  StepFlags step;
  std::string good, bad, json;
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

// Single flags were checked by cli/flag_checks; the posterior's settings are
// checked together, by the posterior itself.
void check_posterior(const BisectFlags& f) {
  const auto& d = f.driver;
  try {
    bisect::CulpritPosterior(bisect::CommitGraph::linear(2), d.posterior);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string("posterior settings: ") + e.what());
  }
}

int finish(const bisect::Result& r, const std::string& json_path) {
  const int code = exit_code(r.outcome);
  std::cout << report::bisect_text(r);
  if (!json_path.empty()) write_file_atomic(json_path, report::bisect_json(r, code).dump(2) + "\n");
  return code;
}

int run_bisect(BisectFlags f) {
  f.driver.posterior.fix = f.fix;
  f.driver.min_rate = f.step.rule.min_rate;
  f.driver.planner.trials_per_boot = f.step.trials_per_boot;
  check_posterior(f);
  const fs::path repo = kernel::git_toplevel(f.step.source.empty() ? fs::current_path() : fs::path(f.step.source));
  const run::Settings settings = step_settings(f.step, repo);
  const run::Case& c = settings.kase;
  auto range = bisect::commit_range(repo, f.good, f.bad);
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  if (f.driver.slots <= 0) f.driver.slots = std::max(1, cores / std::max(1, settings.guest.vcpus));
  if (settings.hosts.empty() && f.driver.slots != settings.jobs)  // the settings warned for their own --jobs
    if (const std::string w = run::cpu_sharing_warning(f.driver.slots, settings.guest.vcpus, cores); !w.empty())
      spdlog::warn("{}", w);
  store::Store db(f.step.db.empty() ? cache_root() / "history.db" : fs::path(f.step.db));
  const std::string key = bisect_session_key(settings, range.commits.front(), range.commits.back(), f.fix);
  const int64_t session = db.session(key, "bisect",
                                     nlohmann::json{{"repo", repo.string()},
                                                    {"good", range.commits.front()},
                                                    {"bad", range.commits.back()},
                                                    {"fix", f.fix},
                                                    {"case", c.name}}
                                         .dump());
  if (f.log) {
    std::cout << report::bisect_events(db.events(session));
    return 0;
  }
  bisect::StoreEvidenceLog log(db, session);
  VmTester tester(settings, db, session);
  bisect::Driver driver(range, f.driver, log, tester);
  if (f.replay) return finish(driver.replay(), f.json);
  spdlog::info("bisecting {} commits ({}), session {}: {} trial(s), {} build(s) already recorded", range.commits.size(),
               f.fix ? "looking for the fix" : "looking for the regression", session, driver.trials(), driver.builds());
  return finish(driver.run(stop_flag()), f.json);
}

}  // namespace

std::function<int()> add_bisect(CLI::App& app) {
  auto f = std::make_shared<BisectFlags>();
  auto* sub = app.add_subcommand(
      "bisect",
      "Self-driving probabilistic bisection between --good and --bad over the commit DAG (exit 0 found at "
      "--confidence, 1 inconclusive, 2 bad input, 3 infrastructure, 4 refused (an end does not reproduce, "
      "the good end fails too, or an end cannot be tested), 5 ambiguous (untestable commits border the culprit), "
      "6 no-op culprit, 130 interrupted: rerun to resume)");
  add_step_flags(sub, f->step);
  auto& d = f->driver;
  auto& p = d.posterior;
  sub->add_option("--good", f->good, "old end: the race does not reproduce (with --fix: it still does)")->required();
  sub->add_option("--bad", f->bad, "new end: the race reproduces (with --fix: it is fixed)")->required();
  sub->add_flag("--fix", f->fix, "look for the commit that fixed the race");
  sub->add_option("--confidence", d.confidence, "stop when the top commit's posterior reaches this (default 0.99)");
  sub->add_option("--budget", d.budget,
                  "cost budget in trial units: trials + --build-cost per build + 8 per boot without a trial "
                  "(default 5000)");
  sub->add_option("--build-cost", d.build_cost, "cost of one kernel build in trial units (default 50)");
  sub->add_option("--clean-power", d.clean_power,
                  "clean commits (good end, the culprit's parents) run until a failure at the learned rate would "
                  "have shown with this probability (default 0.99)");
  sub->add_option("--slots", d.slots, "commits tested side by side (default: host cores / vCPUs)");
  sub->add_option("--rate-floor", p.rate_min, "lowest failure rate on the posterior's grid (default 1e-4)");
  sub->add_option("--flake-max", p.flake_max, "highest flake rate of a good commit on the grid (default 0.01)");
  sub->add_option("--flake-min", p.flake_min, "lowest flake rate on the grid (default 1e-4)");
  sub->add_option("--dispersion", p.dispersion, "intra-boot correlation grid (default 0 0.1 0.3)");
  sub->add_option("--dispersion-prior", p.dispersion_prior, "its prior weights (default 0.8 0.1 0.1)");
  sub->add_option("--rate-change", p.rate_change,
                  "prior probability that the rate reaches its final value only at a later commit, the commits "
                  "between the culprit and it failing less often (default 0.3)");
  sub->add_option("--rate-change-factors", p.change_factors,
                  "how much less often, as fractions of the common rate, never below --min-rate "
                  "(default 0.3 0.1 0.03)");
  sub->add_option("--json", f->json, "also write the result as JSON (schema racebisect-bisect/1) to this file");
  sub->add_flag("--log", f->log, "print the recorded bisection log of this session and exit");
  sub->add_flag("--replay", f->replay, "recompute the posterior from recorded evidence and exit");
  return [f, sub]() -> int { return sub->parsed() ? run_bisect(*f) : -1; };
}

}  // namespace rb::cli
