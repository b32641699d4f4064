#include "cli/bisect_cmd.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bisect/planner.h"
#include "bisect/posterior.h"
#include "bisect/range.h"
#include "cli/step_runner.h"
#include "kernel/source.h"
#include "run/case.h"
#include "stats/binomial.h"
#include "stats/sprt.h"
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
  double confidence = 0.99, build_cost = 50;
  int budget = 2000;  // cost units: trials + build_cost per build
  int endpoint_trials = 24;
  int slots = 0;
};

struct State {
  bisect::CommitRange range;
  bisect::ModelMap map;
  std::vector<bisect::Evidence> table;  // model order
  std::vector<bool> built, untestable;  // model order
  std::vector<std::string> sha256;      // bzImage per model position
  int builds = 0;
  long trials = 0;
  double cost(double build_cost) const { return trials + build_cost * builds; }
};

bisect::CulpritPosterior posterior(const State& s) {
  return bisect::CulpritPosterior::replay(static_cast<int>(s.table.size()), {}, s.table);
}

// Loads every recorded build and trial of this session into model order.
void load_evidence(State& s, store::Store& db, int64_t session) {
  std::map<std::string, int> pos;
  for (size_t i = 0; i < s.range.commits.size(); ++i) pos[s.range.commits[i]] = static_cast<int>(i);
  const int n = static_cast<int>(s.range.commits.size());
  s.table.assign(n, {});
  s.built.assign(n, false);
  s.untestable.assign(n, false);
  s.sha256.assign(n, "");
  s.builds = 0;
  s.trials = 0;
  for (const auto& e : db.evidence(session)) {
    auto it = pos.find(e.commit);
    if (it == pos.end()) continue;
    const int m = s.map.to_model(it->second);
    // A failure always means "the race reproduced"; for a fix search the
    // reversed model order puts those on the model's failing side.
    s.table[m].trials += e.trials;
    s.table[m].failures += e.failures;
    s.built[m] = e.builds > 0;
    s.untestable[m] = e.build_failed && e.builds == 0;
    s.sha256[m] = e.bzimage_sha256;
    s.builds += e.builds > 0 || e.build_failed;
    s.trials += e.trials;
  }
}

std::string evidence_table(const State& s, const bisect::CulpritPosterior& p) {
  std::string out = fmt::format("{:>4} {:<12} {:>6} {:>6} {:>5} {:>8} {:>17} {:>7}  {}\n", "pos", "commit", "built",
                                "trials", "fail", "rate", "95% CI", "P(bad)", "subject");
  for (size_t i = 0; i < s.range.commits.size(); ++i) {
    const int m = s.map.to_model(static_cast<int>(i));
    const auto& e = s.table[m];
    if (e.trials == 0 && !s.built[m] && !s.untestable[m]) continue;
    auto ci = stats::wilson(e.failures, e.trials);
    // P(bad) in the user's terms: the commit shows the new behaviour.
    const double p_new = s.map.fix ? 1 - p.prob_bad(m) : p.prob_bad(m);
    out += fmt::format("{:>4} {:<12} {:>6} {:>6} {:>5} {:>8} {:>17} {:>7.3f}  {}\n", i, s.range.commits[i].substr(0, 12),
                       s.untestable[m] ? "FAILED" : s.built[m] ? "yes" : "no", e.trials, e.failures,
                       e.trials ? fmt::format("{:.1f}%", 100.0 * e.failures / e.trials) : std::string("-"),
                       e.trials ? fmt::format("[{:.1f}%, {:.1f}%]", 100 * ci.low, 100 * ci.high) : std::string("-"),
                       p_new, s.range.subjects[i].substr(0, 60));
  }
  return out;
}

class Bisection {
 public:
  Bisection(const BisectFlags& f, run::Case c, fs::path repo)
      : f_(f), case_(std::move(c)), repo_(std::move(repo)) {
    s_.range = bisect::commit_range(repo_, f.good, f.bad);
    s_.map = {static_cast<int>(s_.range.commits.size()), f.fix};
    db_ = std::make_unique<store::Store>(f.step.db.empty() ? cache_root() / "history.db" : fs::path(f.step.db));
    // The session key names everything that makes evidence comparable.
    Sha256 key;
    key.field("bisect-v1").field(fs::canonical(repo_).string()).field(s_.range.commits.front());
    key.field(s_.range.commits.back()).field(case_.name).field(f.fix ? "fix" : "regression");
    for (const auto& p : f.step.patches) key.field(read_file(p));
    for (const auto& a : f.step.args) key.field(a);
    key.field(f.step.signature);
    session_ = db_->session(key.hex(), "bisect",
                            nlohmann::json{{"repo", repo_.string()},
                                           {"good", s_.range.commits.front()},
                                           {"bad", s_.range.commits.back()},
                                           {"fix", f.fix},
                                           {"case", case_.name}}
                                .dump());
    load_evidence(s_, *db_, session_);
  }

  int log() {
    for (const auto& [at, text] : db_->events(session_)) std::cout << at << "  " << text << "\n";
    return 0;
  }

  int replay() {
    auto p = posterior(s_);
    print_result(p, "replayed from recorded evidence");
    return 0;
  }

  int run() {
    const int n = s_.map.n;
    spdlog::info("bisecting {} commits ({}), session {}; {} trial(s) and {} build(s) already recorded", n,
                 f_.fix ? "looking for the fix" : "looking for the regression", session_, s_.trials, s_.builds);
    event(fmt::format("start/resume: {} commits, {} trials and {} builds recorded", n, s_.trials, s_.builds));
    // 1. Endpoints: the new end must reproduce, the old end must stay clean.
    if (int rc = check_endpoints(); rc >= 0) return rc;
    // 2. Search.
    while (!run::g_interrupted) {
      auto p = posterior(s_);
      if (p.top_probability() >= f_.confidence) break;
      if (s_.cost(f_.build_cost) >= f_.budget) {
        event("budget exhausted");
        print_result(p, fmt::format("budget of {} exhausted before reaching {:.2f}", f_.budget, f_.confidence));
        return kBudget;
      }
      bisect::PlannerParams pp;
      pp.build_cost = f_.build_cost;
      bisect::Planner planner(p, pp);
      for (int m = 0; m < n; ++m) {
        if (s_.built[m]) planner.mark_built(m);
        if (s_.untestable[m]) planner.mark_untestable(m);
      }
      auto steps = planner.plan_parallel(std::max(1, f_.slots));
      std::erase_if(steps, [](const bisect::Step& st) { return st.commit < 0 || st.trials <= 0; });
      if (steps.empty()) {
        print_result(p, "no testable commit left to gain information from");
        return kBudget;
      }
      run_steps(steps);
    }
    if (run::g_interrupted) {
      print_result(posterior(s_), "interrupted: run the same command again to resume");
      return kInterrupted;
    }
    // 3. Confirm: the culprit reproduces and its parent does not.
    auto p = posterior(s_);
    confirm(p.map_culprit());
    p = posterior(s_);
    print_result(p, fmt::format("posterior {:.4f} >= {:.2f}", p.top_probability(), f_.confidence));
    return p.top_probability() >= f_.confidence ? kFound : kBudget;
  }

 private:
  void event(const std::string& text) { db_->record_event(session_, text); }

  // Builds (if needed) and runs `trials` on a model position; false if the
  // commit cannot be built.
  bool test(int model, int trials, const std::function<bool(bool)>& on_trial = nullptr) {
    const int pos = s_.map.to_range(model);
    const std::string& commit = s_.range.commits[pos];
    run::CommitRunner runner(runner_config(f_.step, case_, repo_), db_.get(), session_);
    auto b = runner.build(commit);
    if (!b.artifact.cache_hit || !s_.built[model]) ++s_.builds;
    if (!b.ok) {
      s_.untestable[model] = true;
      event(fmt::format("{} untestable: build failed", commit.substr(0, 12)));
      spdlog::warn("{} does not build: skipping it", commit.substr(0, 12));
      return false;
    }
    s_.built[model] = true;
    s_.sha256[model] = b.artifact.bzimage_sha256;
    auto c = runner.run(commit, b.artifact, trials, [&](bool failed) { return on_trial ? on_trial(failed) : true; });
    s_.table[model].trials += c.trials;
    s_.table[model].failures += c.failures;
    s_.trials += c.trials;
    event(fmt::format("{} (pos {}): {} trial(s), {} failure(s){}", commit.substr(0, 12), pos, c.trials, c.failures,
                      c.other ? fmt::format(", {} other outcome(s)", c.other) : std::string()));
    return true;
  }

  void run_steps(const std::vector<bisect::Step>& steps) {
    if (steps.size() == 1) {
      test(steps[0].commit, steps[0].trials);
      return;
    }
    // Builds are serial (one work tree); VMs run side by side.
    std::vector<std::pair<bisect::Step, kernel::BuildArtifact>> ready;
    for (const auto& st : steps) {
      const std::string& commit = s_.range.commits[s_.map.to_range(st.commit)];
      run::CommitRunner runner(runner_config(f_.step, case_, repo_), db_.get(), session_);
      auto b = runner.build(commit);
      ++s_.builds;
      if (!b.ok) {
        s_.untestable[st.commit] = true;
        continue;
      }
      s_.built[st.commit] = true;
      s_.sha256[st.commit] = b.artifact.bzimage_sha256;
      ready.push_back({st, b.artifact});
    }
    std::vector<run::CommitCounts> counts(ready.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < ready.size(); ++i)
      threads.emplace_back([&, i] {
        const std::string& commit = s_.range.commits[s_.map.to_range(ready[i].first.commit)];
        run::CommitRunner runner(runner_config(f_.step, case_, repo_), db_.get(), session_);
        counts[i] = runner.run(commit, ready[i].second, ready[i].first.trials, [](bool) { return true; });
      });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < ready.size(); ++i) {
      const int m = ready[i].first.commit;
      s_.table[m].trials += counts[i].trials;
      s_.table[m].failures += counts[i].failures;
      s_.trials += counts[i].trials;
      event(fmt::format("{} (pos {}): {} trial(s), {} failure(s) [parallel]",
                        s_.range.commits[s_.map.to_range(m)].substr(0, 12), s_.map.to_range(m), counts[i].trials,
                        counts[i].failures));
    }
  }

  // Runs trials until the first failure (up to the endpoint budget).
  bool reproduces(int model) {
    if (s_.table[model].failures > 0) return true;
    const int need = f_.endpoint_trials - s_.table[model].trials;
    if (need > 0) test(model, need, [](bool failed) { return !failed; });
    return s_.table[model].failures > 0;
  }

  // Runs the SPRT's "accept good" number of clean trials; false on a failure.
  bool stays_clean(int model) {
    stats::Sprt sprt({f_.step.p0, f_.step.p1, f_.step.alpha, f_.step.beta, 1 << 20});
    const int need = sprt.trials_to_accept_good() - s_.table[model].trials;
    if (s_.table[model].failures == 0 && need > 0) test(model, need, [](bool failed) { return !failed; });
    return s_.table[model].failures == 0;
  }

  int check_endpoints() {
    const int n = s_.map.n;
    const std::string new_name = f_.fix ? "the old (--good) end" : "the bad end";
    const std::string old_name = f_.fix ? "the new (--bad) end" : "the good end";
    if (s_.untestable[n - 1] || (!reproduces(n - 1) && !run::g_interrupted)) {
      std::cout << "refused: " << new_name << " " << s_.range.commits[s_.map.to_range(n - 1)].substr(0, 12)
                << " does not reproduce the race within " << f_.endpoint_trials << " trials: nothing to bisect\n";
      return kRefused;
    }
    if (s_.untestable[0] || (!stays_clean(0) && !run::g_interrupted)) {
      std::cout << "refused: " << old_name << " " << s_.range.commits[s_.map.to_range(0)].substr(0, 12)
                << " fails too (" << s_.table[0].failures << "/" << s_.table[0].trials
                << "): the race is not introduced in this range\n";
      return kRefused;
    }
    if (run::g_interrupted) return kInterrupted;
    event("endpoints confirmed");
    return -1;
  }

  void confirm(int culprit) {
    if (culprit <= 0) return;
    const bool fails = reproduces(culprit);
    const bool parent_clean = stays_clean(culprit - 1);
    event(fmt::format("confirm: culprit {} {}, parent {}", culprit, fails ? "reproduces" : "does NOT reproduce",
                      parent_clean ? "clean" : "FAILS"));
  }

  void print_result(const bisect::CulpritPosterior& p, const std::string& why) {
    const int m = p.map_culprit();
    const int pos = s_.map.culprit_position(m);
    // The changed-behaviour commit and its neighbour on the other side.
    const int parent_model = m - 1;
    std::cout << evidence_table(s_, p);
    std::cout << fmt::format("\n{}: {} {}\n", f_.fix ? "fix" : "culprit", s_.range.commits[pos],
                             s_.range.subjects[pos]);
    std::cout << fmt::format("posterior: {:.4f} ({})\n", p.top_probability(), why);
    if (p.runner_up() > 0) {
      const int rpos = s_.map.culprit_position(p.runner_up());
      std::cout << fmt::format("runner-up: {} (posterior {:.4f}) {}\n", s_.range.commits[rpos].substr(0, 12),
                               p.probabilities()[p.runner_up()], s_.range.subjects[rpos].substr(0, 60));
    }
    if (parent_model >= 0 && !s_.sha256[m].empty() && s_.sha256[m] == s_.sha256[parent_model])
      std::cout << "warning: the culprit's kernel is byte-identical to its neighbour's: a no-op commit for this "
                   "config (comment, docs, other architecture); the real change is elsewhere\n";
    std::cout << fmt::format("cost: {} build(s), {} trial(s) (= {:.0f} trial units at build = {:.0f} trials)\n",
                             s_.builds, s_.trials, s_.cost(f_.build_cost), f_.build_cost);
  }

  BisectFlags f_;
  run::Case case_;
  fs::path repo_;
  State s_;
  std::unique_ptr<store::Store> db_;
  int64_t session_ = 0;
};

int run_bisect(const BisectFlags& f) {
  if (f.good.empty() || f.bad.empty()) throw usage_error("bisect needs --good and --bad");
  if (f.confidence <= 0.5 || f.confidence >= 1) throw usage_error("--confidence must be in (0.5, 1)");
  run::Case c = run::load_case(f.step.case_file.empty() ? run::default_case_path() : fs::path(f.step.case_file));
  const fs::path repo = kernel::git(f.step.source.empty() ? fs::current_path() : fs::path(f.step.source),
                                    {"rev-parse", "--show-toplevel"});
  BisectFlags flags = f;
  if (flags.slots <= 0) {
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    flags.slots = std::max(1, cores / std::max(1, flags.step.vcpus.value_or(c.vcpus)));
  }
  Bisection b(flags, c, repo);
  if (f.log) return b.log();
  if (f.replay) return b.replay();
  return b.run();
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
  sub->add_option("--confidence", f->confidence, "stop when the top commit's posterior reaches this (default 0.99)");
  sub->add_option("--budget", f->budget, "cost budget in trial units (a build costs --build-cost; default 2000)");
  sub->add_option("--build-cost", f->build_cost, "cost of one kernel build in trial units (default 50)");
  sub->add_option("--endpoint-trials", f->endpoint_trials, "trials allowed to see the bad end fail (default 24)");
  sub->add_option("--slots", f->slots, "commits tested side by side (default: host cores / vCPUs)");
  sub->add_flag("--log", f->log, "print the recorded history of this bisection and exit");
  sub->add_flag("--replay", f->replay, "recompute the posterior from recorded evidence and exit");
  return [f, sub]() -> int { return sub->parsed() ? run_bisect(*f) : -1; };
}

}  // namespace rb::cli
