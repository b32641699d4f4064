// The bisection simulator, and the gate the shipped bisection must pass.
//
// Every method here is shipped code: "driver" is bisect::Driver (what
// `racebisect bisect` runs) with its default parameters; "git+sprt" is git
// bisect's search with the step rule of `racebisect bisect-step` at its
// defaults (bisect/step_rule.h, p1 learnt from commits that reproduced);
// "git+fixed10" is git bisect with 10 retries per step (syzbot's classic
// rule) through the same step-rule code. Cost = trials + 50 per build + 8
// per boot that yielded no trial (the driver's own accounting).
//
// A run is *confident but wrong* when it names a single wrong commit (the
// driver only names one at >= --confidence), or an ambiguous set without
// the culprit. The figures in a cell come from --runs seeded runs; all
// randomness is splitmix64, so a seed gives the same table on any machine.
//
//   bisect_sim [--runs 1000] [--seed 1] [--cells all|NAME|LABEL,...] [--methods driver,git+sprt,git+fixed10]
//              [--budget 5000] [--confidence 0.99] [--quick] [--list] [--jobs N]
// A LABEL is one cell as --list prints it ("matched n=64 rate=0.1").
// --quick: the bounded gate run by ctest (fewer runs and cells); exits 1
// if a gate assertion fails. --jobs: threads (default: the cores); the
// figures are the same for any value.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim.h"
#include "stats/binomial.h"

namespace {

using namespace sim;

constexpr double kBuildCost = 50, kEmptyBootCost = 8;
const std::array<std::string, 3> kMethods = {"driver", "git+sprt", "git+fixed10"};

struct Options {
  int runs = 1000;
  uint64_t seed = 1;
  double budget = 5000, confidence = 0.99;
  std::set<std::string> cells, methods{kMethods.begin(), kMethods.end()};
  bool quick = false, list = false;
  int trace = 0;  // print the driver's steps of this many runs per cell
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  DriverParams driver;  // --rate-change, --change-factors, ... (exploration)
};

// What a method ended with, in the terms every method shares.
struct RunOutcome {
  enum Kind { Named, Set, Refused, Inconclusive } kind = Inconclusive;
  int named = -1;
  std::vector<int> set;
  bool bad_end_refused = false;
  int steps = 0, boots = 0, builds = 0;
  long trials = 0;
  double cost = 0;
  double stated = -1;            // the confidence the answer was given with (driver only)
  bool over_budget = false;      // a step started at or above the budget
  bool no_boot_retried = false;  // a never-booting commit got a second step
};

std::vector<Scenario> all_cells() {
  std::vector<Scenario> v;
  for (int n : {64, 1024})
    for (double r : {0.02, 0.1, 0.3, 0.7}) v.push_back({.name = "matched", .n = n, .rate = r});
  for (double rho : {0.1, 0.3})
    for (double r : {0.1, 0.3}) v.push_back({.name = "dispersed", .rate = r, .rho = rho});
  v.push_back({.name = "low-rate", .rate = 0.004});
  v.push_back({.name = "rate-change", .rate = 0.05, .later_rate = 0.5});
  v.push_back({.name = "rate-change", .rate = 0.02, .later_rate = 0.3});
  for (double r : {0.1, 0.3}) v.push_back({.name = "flaky-good", .rate = r, .flake = 0.003});
  v.push_back({.name = "unbuildable", .rate = 0.3, .unbuildable = 0.1});
  v.push_back({.name = "no-boot", .rate = 0.3, .no_boot = 0.1});
  for (double r : {0.1, 0.3}) v.push_back({.name = "merges", .n = 1024, .merges = true, .rate = r});
  return v;
}

// Bounded for ctest (< 2 min CPU): the cells where a regression in
// calibration, budget or skipping shows first; n = 16 where only the
// endpoints matter.
std::vector<Scenario> quick_cells() {
  return {{.name = "matched", .rate = 0.3},
          {.name = "matched", .n = 16, .rate = 0.02},
          {.name = "dispersed", .rate = 0.3, .rho = 0.3},
          {.name = "rate-change", .rate = 0.05, .later_rate = 0.5},
          {.name = "flaky-good", .rate = 0.3, .flake = 0.003},
          {.name = "unbuildable", .rate = 0.3, .unbuildable = 0.1},
          {.name = "no-boot", .rate = 0.3, .no_boot = 0.1},
          {.name = "merges", .n = 256, .merges = true, .rate = 0.3}};
}

std::string g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string label(const Scenario& s) {
  std::string l = s.name + " n=" + std::to_string(s.n) + " rate=" + g(s.rate);
  if (s.later_rate >= 0) l += "->" + g(s.later_rate);
  if (s.flake > 0) l += " flake=" + g(s.flake);
  if (s.rho > 0) l += " rho=" + g(s.rho);
  if (s.unbuildable > 0) l += " unbuildable=" + g(s.unbuildable);
  if (s.no_boot > 0) l += " no-boot=" + g(s.no_boot);
  return l;
}

RunOutcome run_driver(const World& w, const Options& opt, uint64_t seed) {
  MemoryEvidenceLog log;
  SimTester tester(w, log, seed);
  DriverParams p = opt.driver;
  p.budget = opt.budget;
  p.confidence = opt.confidence;
  Driver d(w.range, p, log, tester);
  const std::atomic<bool> stop{false};
  const Result r = d.run(stop);
  if (opt.trace > 0) {
    std::printf("    culprit %d change %d -> %s %d: %s cost %.0f\n", w.culprit, w.change, to_string(r.outcome), r.culprit,
                r.why.c_str(), r.cost);
    for (const auto& s : r.steps)
      std::printf("      %-12s %4d %3d/%-3d top %4d %.4f cost %.0f\n", s.kind.c_str(), w.range.index(s.commit), s.failures,
                  s.trials, w.range.index(s.top_commit), s.top_probability, s.cost);
  }
  RunOutcome o;
  switch (r.outcome) {
    case Outcome::Found:
    case Outcome::NoOp: o.kind = RunOutcome::Named, o.named = r.culprit; break;
    case Outcome::Ambiguous:
      o.kind = RunOutcome::Set;
      for (const auto& c : r.ambiguous) o.set.push_back(w.range.index(c));
      break;
    case Outcome::NotReproduced:
    case Outcome::RangeWrong:
    case Outcome::EndUntestable: o.kind = RunOutcome::Refused; break;
    default: o.kind = RunOutcome::Inconclusive;
  }
  if (o.kind == RunOutcome::Named) o.stated = r.posterior;
  if (o.kind == RunOutcome::Set) o.stated = r.ambiguous_posterior;
  o.bad_end_refused = r.outcome == Outcome::NotReproduced;
  o.steps = static_cast<int>(r.steps.size());
  o.boots = r.boots, o.builds = r.builds, o.trials = r.trials, o.cost = r.cost;
  double before = 0;
  std::map<std::string, int> steps_at;
  for (const auto& s : r.steps) {
    o.over_budget |= before >= opt.budget;
    before = s.cost;
    if (w.no_boot[w.range.index(s.commit)] && ++steps_at[s.commit] > 1) o.no_boot_retried = true;
  }
  return o;
}

// git bisect over the DAG; each step decided by `make_rule` (a fresh rule
// per commit, as `git bisect run` starts a fresh bisect-step).
template <class MakeRule>
RunOutcome run_git(const World& w, uint64_t seed, MakeRule make_rule) {
  MemoryEvidenceLog log;
  SimTester tester(w, log, seed);
  GitBisect git(w.graph);
  RunOutcome o;
  std::set<int> built;
  for (int x; (x = git.next()) >= 0;) {
    ++o.steps;
    built.insert(x);
    const std::string& sha = w.range.commits[x];
    if (!tester.build(sha).ok) {
      git.skip(x);
      continue;
    }
    auto rule = make_rule(log, sha);
    StepVerdict v = StepVerdict::Continue;
    tester.run(sha, 1 << 20, [&](bool failed) { return (v = rule.add(failed)) == StepVerdict::Continue; });
    if (v == StepVerdict::Reproduces) git.bad(x);
    else if (v == StepVerdict::Clean) git.good(x);
    else git.skip(x);  // inconclusive, or no trial at all
  }
  const auto rest = git.remaining();
  if (rest.size() == 1) o.kind = RunOutcome::Named, o.named = git.culprit();
  else o.kind = RunOutcome::Set, o.set = rest;
  for (const auto& e : log.evidence()) {
    o.boots += static_cast<int>(e.boots.size());
    o.trials += e.trials();
    o.cost += e.trials() + kEmptyBootCost * e.empty_boots();
  }
  o.builds = static_cast<int>(built.size());
  o.cost += kBuildCost * o.builds;
  return o;
}

RunOutcome run_method(const std::string& m, const World& w, Options opt, uint64_t seed, int run) {
  if (run >= opt.trace) opt.trace = 0;
  if (m == "driver") return run_driver(w, opt, seed);
  if (m == "git+fixed10") return run_git(w, seed, [](MemoryEvidenceLog&, const std::string&) { return FixedNRule(10); });
  // bisect-step's own rate learning: pooled counts of the other commits that reproduced.
  return run_git(w, seed, [](MemoryEvidenceLog& log, const std::string& head) {
    LearnedRate l;
    for (const auto& e : log.evidence())
      if (e.commit != head && e.failures() > 0) l.trials += e.trials(), l.failures += e.failures();
    return StepRule(resolve_step_rule({}, l));
  });
}

struct Tally {
  int runs = 0, right = 0, wrong = 0, sets = 0, refused = 0, bad_end_refused = 0, inconclusive = 0;
  int over_budget = 0, no_boot_retried = 0, stated_runs = 0;
  double stated = 0;  // sum of stated confidences of the runs that gave one
  double steps = 0, boots = 0, builds = 0, trials = 0, cost = 0;
  std::vector<double> costs;
  void add(const RunOutcome& o, int truth) {
    ++runs;
    const bool in_set = std::find(o.set.begin(), o.set.end(), truth) != o.set.end();
    right += o.kind == RunOutcome::Named && o.named == truth;
    wrong += (o.kind == RunOutcome::Named && o.named != truth) || (o.kind == RunOutcome::Set && !in_set);
    sets += o.kind == RunOutcome::Set && in_set;
    refused += o.kind == RunOutcome::Refused;
    bad_end_refused += o.bad_end_refused;
    inconclusive += o.kind == RunOutcome::Inconclusive;
    over_budget += o.over_budget;
    no_boot_retried += o.no_boot_retried;
    if (o.stated >= 0) stated += o.stated, ++stated_runs;
    steps += o.steps, boots += o.boots, builds += o.builds, trials += o.trials, cost += o.cost;
    costs.push_back(o.cost);
  }
  double wrong_upper() const { return rb::stats::clopper_pearson(wrong, runs, 0.90).high; }  // one-sided 95%
  double p95_cost() const {
    std::vector<double> v = costs;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[static_cast<size_t>(std::ceil(0.95 * v.size())) - 1];
  }
};

std::string fmt_stated(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

void print_header() {
  std::printf("  %-12s %6s %7s %7s %7s %6s %7s %6s %6s %6s %6s %7s %7s %7s %5s\n", "method", "right", "wrong", "wr95%",
              "stated", "set", "refused", "incon", "steps", "boots", "builds", "trials", "cost", "p95cost", "over");
}

void print_row(const std::string& m, const Tally& t) {
  const double n = t.runs;
  const std::string stated = t.stated_runs ? fmt_stated(t.stated / t.stated_runs) : "-";
  std::printf("  %-12s %5.1f%% %6.2f%% %6.2f%% %7s %5.1f%% %6.1f%% %5.1f%% %6.1f %6.1f %6.1f %7.0f %7.0f %7.0f %5d\n",
              m.c_str(), 100 * t.right / n, 100 * t.wrong / n, 100 * t.wrong_upper(), stated.c_str(), 100 * t.sets / n,
              100 * t.refused / n, 100 * t.inconclusive / n, t.steps / n, t.boots / n, t.builds / n, t.trials / n,
              t.cost / n, t.p95_cost(), t.over_budget);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) std::fprintf(stderr, "%s needs a value\n", a.c_str()), std::exit(2);
      return argv[++i];
    };
    auto list_of = [](const std::string& s) {
      std::vector<std::string> out;
      std::stringstream in(s);
      for (std::string item; std::getline(in, item, ',');) out.push_back(item);
      return out;
    };
    auto set_of = [&](const std::string& s) {
      const auto items = list_of(s);
      return std::set<std::string>(items.begin(), items.end());
    };
    // A comma-separated list of numbers, in its order.
    auto numbers = [&]<class T>(const std::string& s, std::vector<T>& out) {
      out.clear();
      for (const auto& item : list_of(s)) out.push_back(static_cast<T>(std::stod(item)));
    };
    try {
      if (a == "--runs") o.runs = std::stoi(value());
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--budget") o.budget = std::stod(value());
      else if (a == "--confidence") o.confidence = std::stod(value());
      else if (a == "--cells") o.cells = set_of(value());
      else if (a == "--methods") o.methods = set_of(value());
      else if (a == "--quick") o.quick = true;
      else if (a == "--list") o.list = true;
      else if (a == "--trace") o.trace = std::stoi(value());
      else if (a == "--jobs") o.jobs = std::max(1, std::stoi(value()));
      else if (a == "--rate-change") o.driver.posterior.rate_change = std::stod(value());
      else if (a == "--change-factors") numbers(value(), o.driver.posterior.change_factors);
      else if (a == "--dispersion") numbers(value(), o.driver.posterior.dispersion);
      else if (a == "--dispersion-prior") numbers(value(), o.driver.posterior.dispersion_prior);
      else if (a == "--flake-max") o.driver.posterior.flake_max = std::stod(value());
      else if (a == "--endpoint-failures") o.driver.endpoint_failures = std::stoi(value());
      else if (a == "--min-rate") o.driver.min_rate = std::stod(value());
      else if (a == "--step-cost") o.driver.planner.step_cost = std::stod(value());
      else if (a == "--clean-power") o.driver.clean_power = std::stod(value());
      else if (a == "--trial-options") numbers(value(), o.driver.planner.trial_options);
      else {
        std::fprintf(stderr,
                     "usage: bisect_sim [--runs N] [--seed S] [--cells all|NAME|LABEL,...] [--methods driver,git+sprt,"
                     "git+fixed10]\n                  [--budget COST] [--confidence C] [--quick] [--list] [--jobs N]\n"
                     "  model and planner knobs: --rate-change P --change-factors F,... --dispersion R,...\n"
                     "  --dispersion-prior W,... --flake-max E --endpoint-failures K --min-rate P --step-cost C\n"
                     "  --clean-power P --trial-options T,...\n");
        std::exit(a == "--help" || a == "-h" ? 0 : 2);
      }
    } catch (const std::logic_error&) {  // std::stod/stoi: not a number, or out of range
      std::fprintf(stderr, "bisect_sim: %s: \"%s\" is not a number it takes\n", a.c_str(), argv[i]);
      std::exit(2);
    }
  }
  if (o.cells.count("all")) o.cells.clear();
  return o;
}

// One method over a cell's runs. Each run is seeded by (cell, run) alone, so
// the runs go to `jobs` threads and are tallied in run order: the figures do
// not depend on the thread count. Traced runs print, so they run on one.
Tally run_cell(const std::string& m, const Scenario& s, size_t ci, const Options& opt) {
  std::vector<RunOutcome> out(opt.runs);
  std::vector<int> culprit(opt.runs);
  std::atomic<int> next{0};
  auto work = [&] {
    for (int run; (run = next++) < opt.runs;) {
      Rng world_rng{mix(opt.seed, ci * 1000003 + run)};
      const World w(s, world_rng);
      out[run] = run_method(m, w, opt, mix(world_rng.next(), 7), run);
      culprit[run] = w.culprit;
    }
  };
  {
    std::vector<std::jthread> threads;
    for (int j = 1; j < (opt.trace > 0 ? 1 : opt.jobs); ++j) threads.emplace_back(work);
    work();
  }
  Tally t;
  for (int run = 0; run < opt.runs; ++run) t.add(out[run], culprit[run]);
  return t;
}

// The gate: the driver's confident-but-wrong rate (with --quick its
// one-sided 95% Clopper-Pearson upper bound) must stay under the cell's limit; no step may
// start over budget; a never-booting commit is skipped after one step; at
// rate 0.02 the bad end is refused in < 5% of runs (upper bound).
bool gate(const Scenario& s, const Tally& t, bool quick) {
  // Quick: the one-sided 95% upper bound from 200 runs (0 wrong gives 1.5%,
  // 3 wrong 3.9%); full: the observed rate against the targets.
  const double limit = quick ? (s.model_matched() ? 0.03 : 0.05) : (s.model_matched() ? 0.01 : 0.02);
  bool ok = true;
  auto check = [&](bool cond, const std::string& what) {
    if (!cond) std::printf("  GATE FAILED: %s\n", what.c_str());
    ok &= cond;
  };
  const double wrong = quick ? t.wrong_upper() : double(t.wrong) / t.runs;
  check(wrong <= limit, "confident-but-wrong " + std::to_string(100 * wrong) + "% > " + std::to_string(100 * limit) + "%");
  check(t.over_budget == 0, std::to_string(t.over_budget) + " run(s) started a step over budget");
  check(t.no_boot_retried == 0, std::to_string(t.no_boot_retried) + " run(s) retried a never-booting commit");
  if (s.rate == 0.02 && s.model_matched())
    check(rb::stats::clopper_pearson(t.bad_end_refused, t.runs, 0.90).high < 0.05, "bad end refused too often at rate 0.02");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  if (opt.quick) opt.runs = std::min(opt.runs, 200), opt.methods = {"driver"};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Scenario> cells = opt.quick ? quick_cells() : all_cells();
  if (opt.list) {
    for (const auto& s : cells) std::printf("%s\n", label(s).c_str());
    return 0;
  }
  for (const auto& want : opt.cells)
    if (std::none_of(cells.begin(), cells.end(), [&](const Scenario& s) { return want == s.name || want == label(s); })) {
      std::fprintf(stderr, "bisect_sim: --cells: no cell is named \"%s\" (--list prints them)\n", want.c_str());
      return 2;
    }
  for (const auto& m : opt.methods)
    if (std::find(kMethods.begin(), kMethods.end(), m) == kMethods.end()) {
      std::fprintf(stderr, "bisect_sim: --methods: unknown method \"%s\"\n", m.c_str());
      return 2;
    }
  std::printf("bisect_sim: runs=%d seed=%llu budget=%g confidence=%g (cost = trials + %g/build + %g/empty boot)\n",
              opt.runs, static_cast<unsigned long long>(opt.seed), opt.budget, opt.confidence, kBuildCost,
              kEmptyBootCost);
  std::printf("right/wrong: named the culprit / named a wrong commit or a set without it (confident but wrong);\n"
              "wr95%%: one-sided 95%% upper bound of wrong; stated: mean confidence the driver gave its answers (named\n"
              "commit or set); set: an ambiguous set holding the culprit; over: runs\n"
              "that started a step at or over the budget.\n");
  bool pass = true;
  for (size_t ci = 0; ci < cells.size(); ++ci) {
    const Scenario& s = cells[ci];
    if (!opt.cells.empty() && !opt.cells.count(s.name) && !opt.cells.count(label(s))) continue;
    std::printf("\n%s (%d runs%s)\n", label(s).c_str(), opt.runs, s.model_matched() ? ", model-matched" : "");
    print_header();
    for (const std::string& m : kMethods) {
      if (!opt.methods.count(m)) continue;
      const Tally t = run_cell(m, s, ci, opt);
      print_row(m, t);
      if (m == "driver") pass &= gate(s, t, opt.quick);
      std::fflush(stdout);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\ngate: %s   wall time: %.1f s\n", pass ? "PASS" : "FAIL", secs);
  return pass ? 0 : 1;
}
