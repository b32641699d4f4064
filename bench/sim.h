// Simulated bisection worlds for bench/bisect_sim: a commit graph, a culprit,
// per-commit failure rates (with optional flakes, per-boot over-dispersion
// and a later rate change), commits that do not build or never boot. A
// simulated Tester runs trials in boots and records into an in-memory
// evidence log, exactly as the VM tester records into the store, so the
// shipped bisect::Driver runs unchanged. All randomness comes from
// splitmix64 streams (never the standard distributions), so a seed gives the
// same figures on every machine.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bisect/driver.h"
#include "bisect/evidence.h"
#include "bisect/range.h"
#include "bisect/step_rule.h"

namespace sim {

using namespace rb::bisect;

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
  double normal() {  // Box-Muller
    const double u = 1 - uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }
  double gamma(double a) {  // Marsaglia-Tsang; a < 1 by the boost a+1
    if (a < 1) return gamma(a + 1) * std::pow(1 - uniform(), 1 / a);
    const double d = a - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
      double x, v;
      do x = normal(), v = 1 + c * x;
      while (v <= 0);
      v = v * v * v;
      const double u = 1 - uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  double beta(double a, double b) {
    const double x = gamma(a), y = gamma(b);
    return x + y > 0 ? x / (x + y) : a / (a + b);
  }
};

inline uint64_t mix(uint64_t a, uint64_t b) {
  Rng r{a * 0x9e3779b97f4a7c15ULL + b};
  return r.next();
}

// A kernel-like range: a mainline whose merges bring topic branches forked
// from earlier mainline commits (most from near the old end, as merge-window
// branches are), some with a sub-branch merged inside them.
inline CommitGraph kernel_like(int n, Rng& rng) {
  std::vector<std::vector<int>> parents(1);
  std::vector<int> mainline{0};
  auto add = [&](std::vector<int> p) {
    parents.push_back(std::move(p));
    return static_cast<int>(parents.size()) - 1;
  };
  while (static_cast<int>(parents.size()) < n - 1) {
    const int room = n - 1 - static_cast<int>(parents.size());
    if (rng.uniform() < 0.3 || room < 3) {
      mainline.push_back(add({mainline.back()}));
      continue;
    }
    const int base = mainline[rng.uniform() < 0.6 ? rng.below(std::min<int>(3, mainline.size()))
                                                   : rng.below(static_cast<int>(mainline.size()))];
    const int len = std::min(room - 1, 1 + static_cast<int>(-std::log(1 - rng.uniform()) * 8));
    int tip = base;
    for (int i = 0; i < len; ++i) {
      if (i > 1 && i + 2 < len && rng.uniform() < 0.15) {  // a sub-branch merged into the topic branch
        const int sub = add({tip});
        tip = add({tip, sub});
        i += 1;
        continue;
      }
      tip = add({tip});
    }
    mainline.push_back(add({mainline.back(), tip}));
  }
  add({mainline.back()});
  return CommitGraph(std::move(parents));
}

struct Scenario {
  std::string name;
  int n = 64;
  bool merges = false;       // kernel-like DAG instead of a line
  double rate = 0.3;         // of the culprit and its descendants
  double later_rate = -1;    // >= 0: a random later descendant raises the rate to this
  double flake = 0;          // failure rate of good commits
  double rho = 0;            // intra-boot correlation
  double unbuildable = 0;    // fraction of inner commits that do not build
  double no_boot = 0;        // fraction of inner commits that never yield a trial
  bool model_matched() const { return later_rate < 0 && flake == 0 && rho == 0; }
};

// One run's truth.
struct World {
  CommitGraph graph = CommitGraph::linear(2);
  CommitRange range;
  int culprit = 1, change = -1;
  std::vector<double> rate;
  std::vector<bool> unbuildable, no_boot;
  double rho = 0;

  World(const Scenario& s, Rng& rng) {
    graph = s.merges ? kernel_like(s.n, rng) : CommitGraph::linear(s.n);
    range = synthetic_range(graph);
    const int n = graph.size();
    do culprit = 1 + rng.below(n - 1);
    while (graph.parents(culprit).size() > 1);  // merges are rarely the culprit
    if (s.later_rate >= 0) {
      std::vector<int> later;
      for (int x = culprit + 1; x < n; ++x)
        if (graph.is_ancestor(culprit, x)) later.push_back(x);
      if (!later.empty()) change = later[rng.below(static_cast<int>(later.size()))];
    }
    rate.assign(n, s.flake);
    unbuildable.assign(n, false);
    no_boot.assign(n, false);
    for (int x = 0; x < n; ++x) {
      if (graph.is_ancestor(culprit, x)) rate[x] = change >= 0 && graph.is_ancestor(change, x) ? s.later_rate : s.rate;
      if (x == 0 || x == n - 1) continue;
      unbuildable[x] = rng.uniform() < s.unbuildable;
      no_boot[x] = rng.uniform() < s.no_boot;
    }
    rho = s.rho;
  }
};

// Runs trials in boots of `per_boot`, recording each boot into the log.
class SimTester : public Tester {
 public:
  SimTester(const World& w, MemoryEvidenceLog& log, uint64_t seed) : w_(w), log_(log), rng_{seed} {}
  int per_boot = 8;

  TestBuild build(const std::string& commit) override {
    const int x = w_.range.index(commit);
    const bool ok = !w_.unbuildable[x];
    log_.record_build(commit, ok, ok ? "k" + std::to_string(x) : "");
    return {ok, false, ok ? "k" + std::to_string(x) : ""};
  }

  TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) override {
    const int x = w_.range.index(commit);
    TestCounts n;
    if (w_.no_boot[x]) {  // two boots without a trial, then the runner gives up
      for (int b = 0; b < 2; ++b) log_.record_boot(commit, BootEvidence{});
      return n;
    }
    for (bool stop = false; !stop && n.trials < max_trials;) {
      const double p = boot_rate(w_.rate[x]);
      BootEvidence b;
      for (int i = 0; i < per_boot && n.trials < max_trials && !stop; ++i) {
        const bool f = rng_.uniform() < p;
        ++b.trials, ++n.trials;
        b.failures += f, n.failures += f;
        stop = !on_trial(f);
      }
      log_.record_boot(commit, b);
    }
    return n;
  }

 private:
  double boot_rate(double mean) {
    if (w_.rho <= 0 || mean <= 0 || mean >= 1) return mean;
    const double s = (1 - w_.rho) / w_.rho;
    return rng_.beta(mean * s, (1 - mean) * s);
  }
  const World& w_;
  MemoryEvidenceLog& log_;
  Rng rng_;
};

// What `git bisect` does with a step verdict on a DAG: candidates are the
// ancestors of the current bad commit that are not ancestors of a good one;
// the next commit best halves them by ancestor count (its "bisection
// point"); skipped commits are never picked again; with only skipped ones
// left, the first bad commit "could be any of" them plus the bad one.
class GitBisect {
 public:
  explicit GitBisect(const CommitGraph& g) : g_(g), cand_(g.size(), 0.0), skipped_(g.size(), false) {
    const Bits& a = g.ancestors(g.size() - 1);
    a.for_each([&](int c) { cand_[c] = c == 0 ? 0.0 : 1.0; });
    bad_ = g.size() - 1;
  }
  int next() const {
    const auto count = g_.ancestor_sums(cand_);
    const double total = count[bad_];
    int best = -1;
    double best_v = -1;
    for (int x = 1; x < g_.size(); ++x) {
      if (x == bad_ || cand_[x] == 0 || skipped_[x]) continue;
      const double v = std::min(count[x], total - count[x]);
      if (v > best_v) best_v = v, best = x;
    }
    return best;
  }
  void good(int x) {
    g_.ancestors(x).for_each([&](int c) { cand_[c] = 0; });
  }
  void bad(int x) {
    const Bits& a = g_.ancestors(x);
    for (int c = 0; c < g_.size(); ++c)
      if (!a.test(c)) cand_[c] = 0;
    bad_ = x;
  }
  void skip(int x) { skipped_[x] = true; }
  int culprit() const { return bad_; }
  std::vector<int> remaining() const {
    std::vector<int> out;
    for (int c = 0; c < g_.size(); ++c)
      if (cand_[c] > 0) out.push_back(c);
    return out;
  }

 private:
  const CommitGraph& g_;
  std::vector<double> cand_;
  std::vector<bool> skipped_;
  int bad_;
};

}  // namespace sim
