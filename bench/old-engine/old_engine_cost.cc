// Cost of the OLD bisection engine (rb::bisect::Driver as shipped at
// 987ca96^, before "One bisection engine on the commit DAG") on the
// model-matched cells of bench/bisect_sim: a straight history of n commits,
// the culprit drawn exactly as sim::World draws it (same seeds, so run r of
// a cell has the same culprit as in bisect_sim), every build succeeds, a
// trial fails with probability `rate` at or after the culprit and never
// before it (sim::SimTester's per-trial stream, rho = 0).
//
// Not part of the CMake build: it compiles against the OLD sources only;
// bench/old-engine-cost builds and runs it.
//
//   old_engine_cost [--runs 1000] [--seed 1] [--budget 2000] [--max-trials 200000] [--trace K]
//
// Cost = trials + build_cost (50) * builds, the old driver's own accounting
// (Driver::trials(), Driver::builds()); in these cells every boot yields
// trials, so it is in the same units as bisect_sim's cost. "wrong" = outcome
// Found naming a commit other than the culprit. --max-trials bounds a run
// (the tester raises the driver's interrupt flag past it); such runs are
// counted as "interrupted".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bisect/driver.h"
#include "store/store.h"

// store.cc refers to vm::to_string(BootEnd) (defined in vm/qemu.cc, which
// would drag the VM layer in) from Store::record_boot only; this harness
// never records a boot.
namespace rb::vm {
const char* to_string(BootEnd) { return "unused"; }
}  // namespace rb::vm

namespace {

using namespace rb::bisect;

// sim::Rng and sim::mix from bench/sim.h (splitmix64), copied: sim.h needs
// the new engine's headers.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>((next() >> 33) * uint64_t(n) >> 31); }
};

uint64_t mix(uint64_t a, uint64_t b) {
  Rng r{a * 0x9e3779b97f4a7c15ULL + b};
  return r.next();
}

// A 40-character name whose first 12 characters (what the old driver logs)
// are the position.
std::string sha(int x) {
  char b[48];
  std::snprintf(b, sizeof b, "%012d%028d", x, 0);
  return b;
}
int position(const std::string& sha) { return std::stoi(sha.substr(0, 12)); }

// The truth of one run, drawn as sim::World draws it for a matched cell on
// a line (the same calls on the same stream, so the same culprit and the
// same tester seed as bisect_sim's run).
struct World {
  int n, culprit;
  double rate;
  uint64_t tester_seed;
  World(int n_, double rate_, Rng& rng) : n(n_), rate(rate_) {
    culprit = 1 + rng.below(n - 1);
    for (int x = 1; x < n - 1; ++x) rng.uniform(), rng.uniform();  // World's unbuildable/no_boot draws
    tester_seed = mix(rng.next(), 7);
  }
  bool bad(int x) const { return x >= culprit; }
};

class SimTester : public Tester {
 public:
  SimTester(const World& w, uint64_t seed, std::atomic<bool>& stop, long max_trials)
      : w_(w), rng_{seed}, stop_(stop), max_trials_(max_trials) {}

  TestBuild build(const std::string& commit) override {
    return {true, false, "k" + std::to_string(position(commit))};
  }

  TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) override {
    const int x = position(commit);
    const double p = w_.bad(x) ? w_.rate : 0.0;
    TestCounts c;
    while (c.trials < max_trials) {
      const bool f = rng_.uniform() < p;
      ++c.trials, c.failures += f;
      if (!on_trial(f)) break;
    }
    total_ += c.trials;
    if (total_ > max_trials_) stop_ = true;
    return c;
  }

 private:
  const World& w_;
  Rng rng_;
  std::atomic<bool>& stop_;
  long max_trials_, total_ = 0;
};

struct Tally {
  int runs = 0, found = 0, wrong = 0, budget = 0, refused = 0, interrupted = 0;
  double stated_found = 0, stated_all = 0, builds = 0, trials = 0, cost_found = 0;
  std::vector<double> costs;
  double mean_cost() const {
    double s = 0;
    for (double c : costs) s += c;
    return runs ? s / runs : 0;
  }
  double p95_cost() const {  // as bisect_sim's Tally::p95_cost
    std::vector<double> v = costs;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[static_cast<size_t>(std::ceil(0.95 * v.size())) - 1];
  }
};

}  // namespace

int main(int argc, char** argv) {
  int runs = 1000;
  uint64_t seed = 1;
  long max_trials = 200000;
  int trace = 0;  // print culprit and outcome of this many runs per cell
  DriverParams params;  // the old defaults: confidence 0.99, budget 2000, endpoint_trials 24, slots 1
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) std::fprintf(stderr, "%s needs a value\n", a.c_str()), std::exit(2);
      return argv[++i];
    };
    if (a == "--runs") runs = std::stoi(value());
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--budget") params.budget = std::stod(value());
    else if (a == "--max-trials") max_trials = std::stol(value());
    else if (a == "--trace") trace = std::stoi(value());
    else {
      std::fprintf(stderr, "usage: old_engine_cost [--runs N] [--seed S] [--budget COST] [--max-trials T] [--trace K]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  std::printf("old_engine_cost (Driver at 987ca96^): runs=%d seed=%llu confidence=%g budget=%g build_cost=%g "
              "endpoint_trials=%d slots=%d\n",
              runs, static_cast<unsigned long long>(seed), params.confidence, params.budget, params.build_cost,
              params.endpoint_trials, params.slots);
  std::printf("%-26s %8s %8s %8s %7s %8s %8s %7s %7s %7s %7s %7s %7s\n", "cell", "cost", "p95cost", "costF", "wrong",
              "statedF", "statedA", "found", "budget", "refused", "intr", "builds", "trials");
  const auto t0 = std::chrono::steady_clock::now();
  int ci = 0;  // bisect_sim's cell index: the matched cells are its first 8
  for (int n : {64, 1024}) {
    for (double rate : {0.02, 0.1, 0.3, 0.7}) {
      Tally t;
      for (int run = 0; run < runs; ++run) {
        Rng world_rng{mix(seed, ci * 1000003ULL + run)};
        const World w(n, rate, world_rng);
        CommitRange range;
        for (int x = 0; x < n; ++x) range.commits.push_back(sha(x)), range.subjects.push_back("commit " + std::to_string(x));
        rb::store::Store db(":memory:");
        const int64_t session = db.session("old-engine-cost", "bisect", "{}");
        std::atomic<bool> stop{false};
        SimTester tester(w, w.tester_seed, stop, max_trials);
        Driver d(range, params, db, session, tester);
        const DriverResult r = d.run(stop);
        if (run < trace)
          std::printf("    run %d culprit %d -> outcome %d pos %d posterior %.4f cost %.0f: %s\n", run, w.culprit,
                      static_cast<int>(r.outcome), r.culprit_position, r.posterior,
                      d.trials() + params.build_cost * d.builds(), r.why.c_str());
        ++t.runs;
        t.costs.push_back(d.trials() + params.build_cost * d.builds());
        t.builds += d.builds(), t.trials += d.trials();
        t.stated_all += r.posterior;
        switch (r.outcome) {
          case DriverOutcome::Found:
            ++t.found, t.stated_found += r.posterior, t.cost_found += t.costs.back();
            t.wrong += r.culprit_position != w.culprit;
            break;
          case DriverOutcome::BudgetExhausted: ++t.budget; break;
          case DriverOutcome::Refused: ++t.refused; break;
          case DriverOutcome::Interrupted: ++t.interrupted; break;
        }
      }
      const double R = t.runs;
      char cell[64];
      std::snprintf(cell, sizeof cell, "matched n=%d rate=%g", n, rate);
      std::printf("%-26s %8.0f %8.0f %8.0f %6.2f%% %8.4f %8.4f %6.1f%% %6.1f%% %6.1f%% %6.1f%% %7.1f %7.0f\n", cell,
                  t.mean_cost(), t.p95_cost(), t.found ? t.cost_found / t.found : 0.0, 100 * t.wrong / R, t.found ? t.stated_found / t.found : 0.0,
                  t.stated_all / R, 100 * t.found / R, 100 * t.budget / R, 100 * t.refused / R, 100 * t.interrupted / R,
                  t.builds / R, t.trials / R);
      std::fflush(stdout);
      ++ci;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("columns: cost/p95cost = trials + %g*builds over all runs; costF = mean cost of Found runs; wrong = Found naming a wrong commit (of all runs);\n"
              "statedF = mean posterior of Found runs; statedA = mean final posterior of all runs;\n"
              "found/budget/refused/intr = outcome fractions (intr = stopped by --max-trials %ld).\n"
              "wall time: %.1f s\n",
              params.build_cost, max_trials, secs);
}
