#include "bisect/driver.h"

#include <gtest/gtest.h>

#include <mutex>
#include <random>

#include "util/fs.h"

namespace rb::bisect {
namespace {

// Simulated commits: those at or after `culprit` fail each trial with `rate`.
// Records builds and boots in the store exactly as the VM tester does, and
// can "crash" (throw) after a number of runs to test resumption.
class FakeTester : public Tester {
 public:
  FakeTester(const CommitRange& r, int culprit, double rate, store::Store& db, int64_t session, uint64_t seed)
      : range_(r), culprit_(culprit), rate_(rate), db_(db), session_(session), rng_(seed) {}

  TestBuild build(const std::string& commit) override {
    ++builds;
    // Same "kernel" for every good commit, another for every bad one.
    const std::string sha = position(commit) >= culprit_ ? "bad-image" : "good-image";
    db_.record_build(session_, commit, "fake", "key", true, 1, false, sha, "");
    return {true, false, sha};
  }

  TestCounts run(const std::string& commit, int max_trials, const std::function<bool(bool)>& on_trial) override {
    if (crash_after >= 0 && runs++ >= crash_after) throw std::runtime_error("simulated kill");
    std::lock_guard lock(mu_);
    record::BootRecord b;
    b.kernel_label = commit.substr(0, 12);
    b.outcome = record::Outcome::Pass;
    TestCounts c;
    std::bernoulli_distribution fail(position(commit) >= culprit_ ? rate_ : 0.0);
    for (int i = 0; i < max_trials; ++i) {
      const bool f = fail(rng_);
      record::TrialRecord t;
      t.number = i + 1;
      t.outcome = f ? record::Outcome::Fail : record::Outcome::Pass;
      b.trials.push_back(t);
      ++c.trials;
      c.failures += f;
      if (!on_trial(f)) break;
    }
    db_.record_boot(session_, commit, b);
    return c;
  }

  int builds = 0, runs = 0, crash_after = -1;

 private:
  int position(const std::string& commit) const {
    for (size_t i = 0; i < range_.commits.size(); ++i)
      if (range_.commits[i] == commit) return static_cast<int>(i);
    return -1;
  }
  const CommitRange& range_;
  int culprit_;
  double rate_;
  store::Store& db_;
  int64_t session_;
  std::mt19937_64 rng_;
  std::mutex mu_;
};

std::string fmt_commit(int i) {
  std::string s = std::to_string(i);
  return std::string(40 - s.size(), '0') + s;
}

CommitRange fake_range(int n) {
  CommitRange r;
  for (int i = 0; i < n; ++i) {
    r.commits.push_back(fmt_commit(i));
    r.subjects.push_back("commit " + std::to_string(i));
  }
  return r;
}

TEST(Driver, FindsTheCulpritAndConfirmsIt) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(33);
  int found = 0;
  for (int seed = 1; seed <= 10; ++seed) {
    const int64_t s = db.session("run" + std::to_string(seed), "bisect", "{}");
    FakeTester t(range, 20, 0.5, db, s, seed);
    Driver d(range, DriverParams{}, db, s, t);
    std::atomic<bool> stop{false};
    auto r = d.run(stop);
    EXPECT_EQ(r.outcome, DriverOutcome::Found) << d.report(r);
    found += r.culprit_position == 20;
    EXPECT_GE(r.posterior, 0.99);
  }
  EXPECT_GE(found, 9);
}

TEST(Driver, FixSearchFindsTheFixingCommit) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(17);
  const int64_t s = db.session("fix", "bisect", "{}");
  // Broken (failing) before the fix at position 9, clean from it on: the
  // fake's "culprit" is where failures stop, so invert it by construction.
  struct Inverted : Tester {
    FakeTester& inner;
    const CommitRange& r;
    explicit Inverted(FakeTester& f, const CommitRange& range) : inner(f), r(range) {}
    TestBuild build(const std::string& c) override { return inner.build(mirror(c)); }
    TestCounts run(const std::string& c, int n, const std::function<bool(bool)>& f) override {
      return inner.run(mirror(c), n, f);
    }
    // Commit i behaves like commit n-1-i of a regression with culprit n-9.
    std::string mirror(const std::string& c) const {
      for (size_t i = 0; i < r.commits.size(); ++i)
        if (r.commits[i] == c) return r.commits[r.commits.size() - 1 - i];
      return c;
    }
  };
  FakeTester base(range, 17 - 9, 0.6, db, s, 7);
  Inverted t(base, range);
  DriverParams p;
  p.fix = true;
  Driver d(range, p, db, s, t);
  std::atomic<bool> stop{false};
  auto r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Found) << d.report(r);
  EXPECT_EQ(r.culprit_position, 9) << d.report(r);
}

TEST(Driver, RefusesWhenTheBadEndDoesNotReproduce) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(9);
  const int64_t s = db.session("k", "bisect", "{}");
  FakeTester t(range, 5, 0.0, db, s, 1);  // never fails
  Driver d(range, DriverParams{}, db, s, t);
  std::atomic<bool> stop{false};
  auto r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Refused);
  EXPECT_NE(r.why.find("does not reproduce"), std::string::npos) << r.why;
}

TEST(Driver, KilledAndResumedEndsWithTheSameAnswerAndKeepsAllEvidence) {
  TempDir dir(fs::temp_directory_path(), "driver");
  const auto range = fake_range(65);
  const int culprit = 41;
  long recorded_before_kill = 0;
  {
    store::Store db(dir.path() / "h.db");
    const int64_t s = db.session("resume", "bisect", "{}");
    FakeTester t(range, culprit, 0.4, db, s, 3);
    t.crash_after = 4;  // dies in its 5th run, mid-bisection
    Driver d(range, DriverParams{}, db, s, t);
    std::atomic<bool> stop{false};
    EXPECT_THROW(d.run(stop), std::runtime_error);
    recorded_before_kill = d.trials();
    EXPECT_GT(recorded_before_kill, 0);
  }
  store::Store db(dir.path() / "h.db");
  const int64_t s = db.session("resume", "bisect", "{}");
  FakeTester t(range, culprit, 0.4, db, s, 4);
  Driver d(range, DriverParams{}, db, s, t);
  EXPECT_EQ(d.trials(), recorded_before_kill) << "evidence lost across the kill";
  std::atomic<bool> stop{false};
  auto r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Found) << d.report(r);
  EXPECT_EQ(r.culprit_position, culprit) << d.report(r);
  // A replay from the store alone gives the same posterior.
  Driver replay(range, DriverParams{}, db, s, t);
  EXPECT_EQ(replay.posterior().map_culprit(), d.posterior().map_culprit());
  EXPECT_DOUBLE_EQ(replay.posterior().top_probability(), d.posterior().top_probability());
  EXPECT_EQ(replay.trials(), d.trials());
}

TEST(Driver, InterruptFlagStopsBeforeTheNextStep) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(33);
  const int64_t s = db.session("k", "bisect", "{}");
  FakeTester t(range, 10, 0.5, db, s, 1);
  Driver d(range, DriverParams{}, db, s, t);
  std::atomic<bool> stop{true};
  auto r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Interrupted);
}

TEST(Driver, FlagsANoOpCulprit) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(9);
  const int64_t s = db.session("k", "bisect", "{}");
  // Record identical images for positions 4 and 5, with 5 the culprit.
  db.record_build(s, range.commits[4], "x", "k", true, 1, false, "same", "");
  db.record_build(s, range.commits[5], "x", "k", true, 1, false, "same", "");
  FakeTester t(range, 5, 1.0, db, s, 1);
  auto all = [](bool) { return true; };
  t.run(range.commits[4], 40, all);  // clean
  t.run(range.commits[5], 4, all);   // fails
  t.run(range.commits[8], 4, all);
  Driver d(range, DriverParams{}, db, s, t);
  ASSERT_EQ(d.posterior().map_culprit(), 5);
  DriverResult r;
  EXPECT_NE(d.report(r).find("byte-identical"), std::string::npos) << d.report(r);
}

}  // namespace
}  // namespace rb::bisect

namespace rb::bisect {
namespace {

TEST(DriverParallel, TwoSlotsFindTheSameCulprit) {
  TempDir dir(fs::temp_directory_path(), "driver");
  store::Store db(dir.path() / "h.db");
  const auto range = fake_range(65);
  const int64_t s = db.session("par", "bisect", "{}");
  FakeTester t(range, 30, 0.5, db, s, 11);
  DriverParams p;
  p.slots = 2;
  Driver d(range, p, db, s, t);
  std::atomic<bool> stop{false};
  auto r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Found) << d.report(r);
  EXPECT_EQ(r.culprit_position, 30) << d.report(r);
  // Everything the parallel steps did is in the store.
  Driver replay(range, p, db, s, t);
  EXPECT_EQ(replay.trials(), d.trials());
}

}  // namespace
}  // namespace rb::bisect

// Issue 7 defects, each reproduced here before it was fixed.
namespace rb::bisect {
namespace {

// Configurable fake: per-commit failure rate, commits that never yield a
// trial or never build, a shared kernel image, other (non-matching) crashes.
class ScriptedTester : public Tester {
 public:
  ScriptedTester(const CommitRange& r, store::Store& db, int64_t s, uint64_t seed) : range_(r), db_(db), s_(s), rng_(seed) {}
  std::function<double(int)> rate = [](int) { return 0.0; };
  std::function<bool(int)> boots = [](int) { return true; };
  std::function<bool(int)> builds_ok = [](int) { return true; };
  std::function<std::string(int)> image = [](int pos) { return "img-" + std::to_string(pos); };
  std::function<double(int)> other_crash = [](int) { return 0.0; };
  int runs = 0, max_runs = 400;
  std::map<int, int> trials_at;

  TestBuild build(const std::string& c) override {
    const int pos = position(c);
    const bool ok = builds_ok(pos);
    db_.record_build(s_, c, "f", "k", ok, 1, false, ok ? image(pos) : "", ok ? "" : "make failed");
    return {ok, false, ok ? image(pos) : ""};
  }
  TestCounts run(const std::string& c, int max_trials, const std::function<bool(bool)>& on_trial) override {
    if (++runs > max_runs) throw std::runtime_error("the driver keeps stepping: " + std::to_string(runs) + " runs");
    const int pos = position(c);
    TestCounts n;
    for (int boot = 0; boot < 2 && !boots(pos); ++boot) {  // two boots in a row without a trial, as CommitRunner
      record::BootRecord b;
      b.outcome = record::Outcome::BootFailure;
      db_.record_boot(s_, c, b);
      ++n.other;
    }
    if (!boots(pos)) return n;
    std::bernoulli_distribution fail(rate(pos)), crash(other_crash(pos));
    bool stop = false;
    while (!stop && n.trials < max_trials) {
      record::BootRecord b;
      b.outcome = record::Outcome::Pass;
      for (int i = 0; i < 8 && n.trials < max_trials && !stop; ++i) {
        const bool f = fail(rng_);
        record::TrialRecord t;
        t.number = i + 1;
        t.outcome = f ? record::Outcome::Fail : record::Outcome::Pass;
        b.trials.push_back(t);
        ++n.trials;
        n.failures += f;
        stop = !on_trial(f);
      }
      if (crash(rng_)) b.outcome = record::Outcome::Crash, b.detail = "BUG: unrelated", ++n.other;
      db_.record_boot(s_, c, b);
    }
    trials_at[pos] += n.trials;
    return n;
  }

 private:
  int position(const std::string& c) const {
    for (size_t i = 0; i < range_.commits.size(); ++i)
      if (range_.commits[i] == c) return static_cast<int>(i);
    return -1;
  }
  const CommitRange& range_;
  store::Store& db_;
  int64_t s_;
  std::mt19937_64 rng_;
};

struct Harness {
  TempDir dir{fs::temp_directory_path(), "driver"};
  store::Store db{dir.path() / "h.db"};
  CommitRange range;
  int64_t session;
  explicit Harness(int n, const std::string& key = "k") : range(fake_range(n)), session(db.session(key, "bisect", "{}")) {}
};

TEST(DriverIssue7, AStepWithoutTrialsIsChargedAndTheCommitSkipped) {
  Harness h(17);
  ScriptedTester t(h.range, h.db, h.session, 1);
  t.rate = [](int pos) { return pos >= 9 ? 0.5 : 0.0; };
  t.boots = [](int pos) { return pos == 0 || pos == 16; };  // nothing in between ever yields a trial
  Driver d(h.range, DriverParams{}, h.db, h.session, t);
  std::atomic<bool> stop{false};
  DriverResult r;
  ASSERT_NO_THROW(r = d.run(stop));
  EXPECT_NE(r.outcome, DriverOutcome::Found) << d.report(r);
}

TEST(DriverIssue7, AGoodEndWithoutTrialsIsNotCalledClean) {
  Harness h(9);
  ScriptedTester t(h.range, h.db, h.session, 1);
  t.rate = [](int pos) { return pos >= 5 ? 0.5 : 0.0; };
  t.boots = [](int pos) { return pos != 0; };
  Driver d(h.range, DriverParams{}, h.db, h.session, t);
  std::atomic<bool> stop{false};
  const DriverResult r = d.run(stop);
  EXPECT_EQ(r.outcome, DriverOutcome::Refused) << d.report(r);
}

TEST(DriverIssue7, ABadEndFailingAtTwoPercentIsRarelyRefused) {
  int refused = 0;
  for (int seed = 1; seed <= 100; ++seed) {
    Harness h(2, "s" + std::to_string(seed));
    ScriptedTester t(h.range, h.db, h.session, seed);
    t.rate = [](int pos) { return pos == 1 ? 0.02 : 0.0; };
    Driver d(h.range, DriverParams{}, h.db, h.session, t);
    std::atomic<bool> stop{false};
    refused += d.run(stop).outcome == DriverOutcome::Refused;
  }
  // < 5% wanted; 10 of 100 is above the 95% binomial range of a 5% rate.
  EXPECT_LE(refused, 10);
}

TEST(DriverIssue7, TheGoodEndIsTestedLongEnoughForTheLearnedRate) {
  for (int seed = 1; seed <= 5; ++seed) {
    Harness h(2, "s" + std::to_string(seed));
    ScriptedTester t(h.range, h.db, h.session, seed);
    t.rate = [](int pos) { return pos == 1 ? 0.05 : 0.0; };
    Driver d(h.range, DriverParams{}, h.db, h.session, t);
    std::atomic<bool> stop{false};
    const DriverResult r = d.run(stop);
    if (r.outcome == DriverOutcome::Refused) continue;
    // A 5% race shows within 90 trials with probability 0.99.
    EXPECT_GE(t.trials_at[0], 60) << d.report(r);
  }
}

TEST(DriverIssue7, AnUnbuildableNeighbourGivesTheAmbiguousSet) {
  Harness h(17);
  ScriptedTester t(h.range, h.db, h.session, 1);
  t.rate = [](int pos) { return pos >= 9 ? 0.6 : 0.0; };
  t.builds_ok = [](int pos) { return pos != 8; };
  Driver d(h.range, DriverParams{}, h.db, h.session, t);
  std::atomic<bool> stop{false};
  const DriverResult r = d.run(stop);
  EXPECT_NE(r.outcome, DriverOutcome::Found) << d.report(r);
  EXPECT_NE(d.report(r).find("could be any of"), std::string::npos) << d.report(r);
}

TEST(DriverIssue7, ANoOpCulpritIsNotReportedAsFound) {
  Harness h(17);
  ScriptedTester t(h.range, h.db, h.session, 1);
  t.rate = [](int pos) { return pos >= 9 ? 0.6 : 0.0; };
  t.image = [](int pos) { return pos == 8 || pos == 9 ? "same" : "img-" + std::to_string(pos); };
  Driver d(h.range, DriverParams{}, h.db, h.session, t);
  std::atomic<bool> stop{false};
  const DriverResult r = d.run(stop);
  EXPECT_NE(r.outcome, DriverOutcome::Found) << d.report(r);
}

TEST(DriverIssue7, AChangeInOtherCrashesAcrossTheCulpritIsReported) {
  Harness h(17);
  ScriptedTester t(h.range, h.db, h.session, 1);
  t.rate = [](int pos) { return pos >= 9 ? 0.6 : 0.0; };
  t.other_crash = [](int pos) { return pos >= 9 ? 0.7 : 0.0; };
  Driver d(h.range, DriverParams{}, h.db, h.session, t);
  std::atomic<bool> stop{false};
  const DriverResult r = d.run(stop);
  EXPECT_NE(d.report(r).find("other crashes"), std::string::npos) << d.report(r);
}

}  // namespace
}  // namespace rb::bisect
