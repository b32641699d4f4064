// Test-only: a scripted Tester over simulated commits that records into an
// evidence log as the real ones do (builds first, then one entry per boot).
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

#include "bisect/driver.h"
#include "bisect/evidence.h"

namespace rb::bisect::testing {

class ScriptedTester : public Tester {
 public:
  using Recorder = std::function<void(const std::string& commit, const BootEvidence& boot)>;
  using BuildRecorder = std::function<void(const std::string& commit, bool ok, const std::string& sha)>;

  ScriptedTester(const CommitRange& r, MemoryEvidenceLog& log, uint64_t seed)
      : ScriptedTester(
            r, [&log](const std::string& c, bool ok, const std::string& sha) { log.record_build(c, ok, sha); },
            [&log](const std::string& c, const BootEvidence& b) { log.record_boot(c, b); }, seed) {}
  ScriptedTester(const CommitRange& r, BuildRecorder on_build, Recorder on_boot, uint64_t seed)
      : range_(r), on_build_(std::move(on_build)), on_boot_(std::move(on_boot)), rng_(seed) {}

  std::function<double(int)> rate = [](int) { return 0.0; };
  std::function<bool(int)> boots = [](int) { return true; };
  std::function<bool(int)> builds_ok = [](int) { return true; };
  std::function<std::string(int)> image = [](int node) { return "img-" + std::to_string(node); };
  std::function<double(int)> other_crash = [](int) { return 0.0; };
  int runs = 0, max_runs = 2000, crash_after = -1, trials_per_boot = 8;
  std::map<int, int> trials_at;

  TestBuild build(const std::string& c) override {
    const int x = range_.index(c);
    const bool ok = builds_ok(x);
    on_build_(c, ok, ok ? image(x) : "");
    return {ok, false, ok ? image(x) : ""};
  }

  TestCounts run(const std::string& c, int max_trials, const std::function<bool(bool)>& on_trial) override {
    std::lock_guard lock(mu_);  // parallel slots call run() at once; `runs` is shared too
    if (crash_after >= 0 && runs >= crash_after) throw std::runtime_error("simulated kill");
    if (++runs > max_runs) throw std::runtime_error("the driver keeps stepping: " + std::to_string(runs) + " runs");
    const int x = range_.index(c);
    TestCounts n;
    if (!boots(x)) {  // two boots in a row without a trial, as CommitRunner gives up
      for (int b = 0; b < 2; ++b) on_boot_(c, BootEvidence{}), ++n.other;
      return n;
    }
    std::bernoulli_distribution fail(rate(x)), crash(other_crash(x));
    for (bool stop = false; !stop && n.trials < max_trials;) {
      BootEvidence b;
      for (int i = 0; i < trials_per_boot && n.trials < max_trials && !stop; ++i) {
        const bool f = fail(rng_);
        ++b.trials, ++n.trials;
        b.failures += f, n.failures += f;
        stop = !on_trial(f);
      }
      if (crash(rng_)) b.other_crash = true, b.other_title = "BUG: unrelated", ++n.other;
      on_boot_(c, b);
    }
    trials_at[x] += n.trials;
    return n;
  }

 private:
  const CommitRange& range_;
  BuildRecorder on_build_;
  Recorder on_boot_;
  std::mt19937_64 rng_;
  std::mutex mu_;
};

}  // namespace rb::bisect::testing
