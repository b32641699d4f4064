// Throwaway harness (not committed): today's shipped bisect::Driver (commit 3a5c2df)
// on simulated commits, to measure the "before" figures for issue 7.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>
#include "bisect/driver.h"
#include "stats/binomial.h"
using namespace rb;
using namespace rb::bisect;

struct Scn { const char* name; int n; double r1, r2, eps, rho; bool change; };

struct Fake : Tester {
  const CommitRange& range; int c, d; Scn s; store::Store& db; int64_t sess; std::mt19937_64 rng;
  long runs = 0;
  Fake(const CommitRange& r, int c_, int d_, Scn s_, store::Store& db_, int64_t se, uint64_t seed)
      : range(r), c(c_), d(d_), s(s_), db(db_), sess(se), rng(seed) {}
  int pos(const std::string& x) { return std::stoi(x); }
  double rate(int i) { return i >= d ? s.r2 : i >= c ? s.r1 : s.eps; }
  TestBuild build(const std::string& x) override { db.record_build(sess, x, "f", "k", true, 1, false, "img" + x, ""); return {true, false, "img" + x}; }
  TestCounts run(const std::string& x, int max_trials, const std::function<bool(bool)>& on_trial) override {
    if (++runs > 100000) throw std::runtime_error("loop");
    TestCounts tc; bool stop = false; const double p = rate(pos(x));
    while (!stop && tc.trials < max_trials) {
      double pb = p;
      if (s.rho > 0 && p > 0) {
        const double k = (1 - s.rho) / s.rho;
        std::gamma_distribution<double> ga(p * k, 1.0), gb((1 - p) * k, 1.0);
        double a = ga(rng), b = gb(rng); pb = a + b > 0 ? a / (a + b) : p;
      }
      record::BootRecord b; b.kernel_label = x.substr(0, 12); b.outcome = record::Outcome::Pass;
      std::bernoulli_distribution f(pb);
      for (int i = 0; i < 8 && tc.trials < max_trials && !stop; ++i) {
        bool fl = f(rng); record::TrialRecord t; t.number = i + 1; t.outcome = fl ? record::Outcome::Fail : record::Outcome::Pass;
        b.trials.push_back(t); ++tc.trials; tc.failures += fl; if (!on_trial(fl)) stop = true;
      }
      db.record_boot(sess, x, b);
    }
    return tc;
  }
};

int main(int argc, char** argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 200;
  std::vector<Scn> cells = {
    {"matched", 64, 0.02, 0.02, 0, 0, false}, {"matched", 64, 0.1, 0.1, 0, 0, false},
    {"matched", 64, 0.3, 0.3, 0, 0, false}, {"matched", 64, 0.7, 0.7, 0, 0, false},
    {"matched", 1024, 0.1, 0.1, 0, 0, false}, {"matched", 1024, 0.3, 0.3, 0, 0, false},
    {"disp0.1", 64, 0.3, 0.3, 0, 0.1, false}, {"disp0.3", 64, 0.3, 0.3, 0, 0.3, false},
    {"disp0.3", 64, 0.1, 0.1, 0, 0.3, false},
    {"low", 64, 0.004, 0.004, 0, 0, false},
    {"change", 64, 0.05, 0.5, 0, 0, true}, {"change", 64, 0.02, 0.3, 0, 0, true},
    {"flaky", 64, 0.1, 0.1, 0.003, 0, false}, {"flaky", 64, 0.3, 0.3, 0.003, 0, false},
  };
  if (argc > 2) { std::vector<Scn> keep; for (auto& c : cells) if (std::string(c.name) == argv[2]) keep.push_back(c); cells = keep; }
  std::printf("%-8s %5s %6s %6s %6s %4s | %6s %6s %9s %6s %6s %7s %6s %6s %6s\n", "scn", "n", "r1", "r2", "eps", "rho",
              "acc", "found", "confwrong", "cwUB", "budget", "refused", "cost", "trials", "builds"); std::printf("(last column: mean cost of runs not refused)\n");
  for (const auto& s : cells) {
    int correct = 0, found = 0, cw = 0, bud = 0, ref = 0, hi = 0; double cost = 0, trials = 0, builds = 0, cost_nr = 0; int nr = 0;
    for (int r = 0; r < runs; ++r) {
      std::mt19937_64 g(1000003ull * r + 17);
      const int c = 1 + g() % (s.n - 1);
      const int d = s.change && c < s.n - 1 ? c + 1 + g() % (s.n - 1 - c) : c;
      CommitRange range;
      for (int i = 0; i < s.n; ++i) { char b[41]; std::snprintf(b, sizeof b, "%040d", i); range.commits.push_back(b); range.subjects.push_back("x"); }
      store::Store db(":memory:");
      int64_t se = db.session("k", "bisect", "{}");
      Fake t(range, c, d, s, db, se, g());
      Driver drv(range, DriverParams{}, db, se, t);
      std::atomic<bool> stop{false};
      auto res = drv.run(stop);
      const bool ok = res.culprit_position == c;
      correct += ok; found += res.outcome == DriverOutcome::Found;
      if (res.outcome == DriverOutcome::Found && res.posterior >= 0.99 && !ok) ++cw;
      if (res.posterior >= 0.99) ++hi;
      bud += res.outcome == DriverOutcome::BudgetExhausted; ref += res.outcome == DriverOutcome::Refused;
      cost += drv.trials() + 50.0 * drv.builds(); if (res.outcome != DriverOutcome::Refused) { cost_nr += drv.trials() + 50.0 * drv.builds(); ++nr; } trials += drv.trials(); builds += drv.builds();
    }
    auto ub = stats::clopper_pearson(cw, runs, 0.90).high;
    std::printf("%-8s %5d %6.3f %6.3f %6.3f %4.1f | %5.1f%% %5.1f%% %8.1f%% %5.1f%% %5.1f%% %6.1f%% %6.0f %6.0f %6.1f %6.0f\n", s.name, s.n, s.r1, s.r2, s.eps, s.rho,
                100.0 * correct / runs, 100.0 * found / runs, 100.0 * cw / runs, 100 * ub, 100.0 * bud / runs, 100.0 * ref / runs,
                cost / runs, trials / runs, builds / runs, nr ? cost_nr / nr : 0.0);
    std::fflush(stdout);
  }
}
