#include "bisect/driver.h"

#include <gtest/gtest.h>

#include "bisect/store_log.h"
#include "bisect/test_support.h"
#include "util/fs.h"

namespace rb::bisect {
namespace {

using testing::ScriptedTester;

struct Sim {
  CommitRange range;
  MemoryEvidenceLog log;
  ScriptedTester tester;
  Sim(const CommitGraph& g, uint64_t seed) : range(synthetic_range(g)), tester(range, log, seed) {}
  Result go(DriverParams p = {}) {
    Driver d(range, p, log, tester);
    std::atomic<bool> stop{false};
    return d.run(stop);
  }
};

TEST(Driver, FindsTheCulpritAndConfirmsIt) {
  int found = 0;
  for (int seed = 1; seed <= 10; ++seed) {
    Sim run(CommitGraph::linear(33), seed);
    run.tester.rate = [](int x) { return x >= 20 ? 0.5 : 0.0; };
    const Result r = run.go();
    EXPECT_EQ(r.outcome, Outcome::Found) << r.why;
    if (r.outcome == Outcome::Found) {
      EXPECT_EQ(r.culprit, 20);
    }
    found += r.culprit == 20;
    EXPECT_GE(r.posterior, 0.99);
    // Confirmed: the culprit failed, its parent ran clean long enough.
    EXPECT_GT(run.tester.trials_at[20], 0);
    EXPECT_GE(run.tester.trials_at[19], 7);  // (1 - 0.5)^7 < 0.01
  }
  EXPECT_GE(found, 9);
}

TEST(Driver, FixSearchFindsTheFixingCommit) {
  Sim run(CommitGraph::linear(17), 7);
  run.tester.rate = [](int x) { return x < 9 ? 0.6 : 0.0; };  // broken before the fix at 9
  DriverParams p;
  p.posterior.fix = true;
  const Result r = run.go(p);
  EXPECT_EQ(r.outcome, Outcome::Found) << r.why;
  EXPECT_EQ(r.culprit, 9);
}

TEST(Driver, RefusesWhenTheBadEndDoesNotReproduceAfterBoundingItsRate) {
  Sim run(CommitGraph::linear(9), 1);
  const Result r = run.go();
  EXPECT_EQ(r.outcome, Outcome::NotReproduced) << r.why;
  // 1 - 0.95^(1/n) < 0.01 first at n = 299: zero failures bound the rate below --min-rate.
  EXPECT_EQ(run.tester.trials_at[8], 299);
}

TEST(Driver, KilledAndResumedFromTheStoreEndsWithTheSameAnswerAndKeepsAllEvidence) {
  TempDir dir(fs::temp_directory_path(), "driver");
  const auto range = synthetic_range(CommitGraph::linear(65));
  const int culprit = 41;
  auto rate = [&](int x) { return x >= culprit ? 0.4 : 0.0; };
  auto on_build = [](store::Store& db, int64_t s) {
    return [&db, s](const std::string& c, bool ok, const std::string& sha) {
      db.record_build(s, c, "f", "k", ok, 1, false, sha, ok ? "" : "make failed");
    };
  };
  auto on_boot = [](store::Store& db, int64_t s) {
    return [&db, s](const std::string& c, const BootEvidence& b) {
      record::BootRecord br;
      br.outcome = b.other_crash ? record::Outcome::Crash : record::Outcome::Pass;
      for (int i = 0; i < b.trials; ++i) {
        record::TrialRecord t;
        t.number = i + 1;
        t.outcome = i < b.failures ? record::Outcome::Fail : record::Outcome::Pass;
        br.trials.push_back(t);
      }
      db.record_boot(s, c, br);
    };
  };
  long before_kill = 0;
  {
    store::Store db(dir.path() / "h.db");
    const int64_t s = db.session("resume", "bisect", "{}");
    StoreEvidenceLog log(db, s);
    ScriptedTester t(range, on_build(db, s), on_boot(db, s), 3);
    t.rate = rate;
    t.crash_after = 6;  // dies in its 7th run, mid-bisection
    Driver d(range, {}, log, t);
    std::atomic<bool> stop{false};
    EXPECT_THROW(d.run(stop), std::runtime_error);
    before_kill = d.trials();
    EXPECT_GT(before_kill, 0);
  }
  store::Store db(dir.path() / "h.db");
  const int64_t s = db.session("resume", "bisect", "{}");
  StoreEvidenceLog log(db, s);
  ScriptedTester t(range, on_build(db, s), on_boot(db, s), 4);
  t.rate = rate;
  Driver d(range, {}, log, t);
  EXPECT_EQ(d.trials(), before_kill) << "evidence lost across the kill";
  std::atomic<bool> stop{false};
  const Result r = d.run(stop);
  EXPECT_EQ(r.outcome, Outcome::Found) << r.why;
  EXPECT_EQ(r.culprit, culprit);
  // The steps of the killed run are in the log too, and a replay from the
  // store alone gives the same posterior.
  EXPECT_EQ(r.steps.front().kind, "affected-end");
  Driver replay(range, {}, log, t);
  EXPECT_EQ(replay.posterior().map_culprit(), culprit);
  EXPECT_DOUBLE_EQ(replay.posterior().top_probability(), d.posterior().top_probability());
  EXPECT_EQ(replay.trials(), d.trials());
  EXPECT_EQ(replay.replay().outcome, Outcome::Found);
}

TEST(Driver, InterruptFlagStopsBeforeTheNextStep) {
  Sim run(CommitGraph::linear(33), 1);
  run.tester.rate = [](int x) { return x >= 10 ? 0.5 : 0.0; };
  Driver d(run.range, {}, run.log, run.tester);
  std::atomic<bool> stop{true};
  EXPECT_EQ(d.run(stop).outcome, Outcome::Interrupted);
  EXPECT_EQ(run.tester.runs, 0);
}

TEST(Driver, TwoSlotsFindTheSameCulprit) {
  Sim run(CommitGraph::linear(65), 11);
  run.tester.rate = [](int x) { return x >= 30 ? 0.5 : 0.0; };
  DriverParams p;
  p.slots = 2;
  const Result r = run.go(p);
  EXPECT_EQ(r.outcome, Outcome::Found) << r.why;
  EXPECT_EQ(r.culprit, 30);
  Driver replay(run.range, p, run.log, run.tester);
  EXPECT_EQ(replay.trials(), r.trials);
}

TEST(Driver, CulpritOnTheShortBranchOfTheIssueTopology) {
  const CommitGraph g({{}, {0}, {1}, {2}, {3}, {4}, {2}, {6}, {7}, {8}, {9}, {10}, {2, 5}, {12, 11}, {13}, {14}});
  for (int seed = 1; seed <= 10; ++seed) {
    Sim run(g, seed);
    run.tester.rate = [&](int x) { return g.is_ancestor(4, x) ? 0.5 : 0.0; };
    const Result r = run.go();
    EXPECT_EQ(r.outcome, Outcome::Found) << r.why;
    EXPECT_EQ(r.culprit, 4) << seed;
  }
}

// Issue 7 defects, each reproduced (on the old driver) before it was fixed.

TEST(DriverIssue7, AStepWithoutTrialsIsChargedAndTheCommitSkipped) {
  Sim run(CommitGraph::linear(17), 1);
  run.tester.rate = [](int x) { return x >= 9 ? 0.5 : 0.0; };
  run.tester.boots = [](int x) { return x == 0 || x == 16; };  // nothing in between ever yields a trial
  DriverParams p;
  p.budget = 600;
  Result r;
  ASSERT_NO_THROW(r = run.go(p));
  EXPECT_NE(r.outcome, Outcome::Found) << r.why;
  // Every commit that was tried once is skipped: at most one step each.
  for (const auto& c : r.commits) {
    if (c.node != 0 && c.node != 16) {
      EXPECT_TRUE(c.untestable) << c.node;
    }
  }
  const double max_step = 50 + 32 + 2 * p.empty_boot_cost;
  EXPECT_LE(r.cost, p.budget + max_step);
}

TEST(DriverIssue7, AGoodEndWithoutTrialsIsNotCalledClean) {
  Sim run(CommitGraph::linear(9), 1);
  run.tester.rate = [](int x) { return x >= 5 ? 0.5 : 0.0; };
  run.tester.boots = [](int x) { return x != 0; };
  const Result r = run.go();
  EXPECT_EQ(r.outcome, Outcome::EndUntestable) << r.why;
}

TEST(DriverIssue7, ABadEndFailingAtTwoPercentIsRarelyRefused) {
  int refused = 0;
  for (int seed = 1; seed <= 100; ++seed) {
    Sim run(CommitGraph::linear(2), seed);
    run.tester.rate = [](int x) { return x == 1 ? 0.02 : 0.0; };
    refused += run.go().outcome == Outcome::NotReproduced;
  }
  // < 5% wanted; 10 of 100 is above the 95% binomial range of a 5% rate.
  EXPECT_LE(refused, 10);
}

TEST(DriverIssue7, TheGoodEndIsTestedLongEnoughForTheLearnedRate) {
  for (int seed = 1; seed <= 5; ++seed) {
    Sim run(CommitGraph::linear(2), seed);
    run.tester.rate = [](int x) { return x == 1 ? 0.05 : 0.0; };
    const Result r = run.go();
    ASSERT_EQ(r.outcome, Outcome::Found) << r.why;
    // A 5% race shows within 90 trials with probability 0.99; the rate is
    // learnt from a few failures, so allow it to be off by half.
    EXPECT_GE(run.tester.trials_at[0], 45);
  }
}

TEST(DriverIssue7, AnUnbuildableNeighbourGivesTheAmbiguousSet) {
  Sim run(CommitGraph::linear(17), 1);
  run.tester.rate = [](int x) { return x >= 9 ? 0.6 : 0.0; };
  run.tester.builds_ok = [](int x) { return x != 8; };
  const Result r = run.go();
  EXPECT_EQ(r.outcome, Outcome::Ambiguous) << r.why;
  EXPECT_EQ(r.ambiguous, (std::vector<std::string>{run.range.commits[8], run.range.commits[9]}));
  EXPECT_GE(r.ambiguous_posterior, 0.99);
}

TEST(DriverIssue7, ANoOpCulpritIsItsOwnOutcome) {
  Sim run(CommitGraph::linear(17), 1);
  run.tester.rate = [](int x) { return x >= 9 ? 0.6 : 0.0; };
  run.tester.image = [](int x) { return x == 8 || x == 9 ? std::string("same") : "img-" + std::to_string(x); };
  const Result r = run.go();
  EXPECT_EQ(r.outcome, Outcome::NoOp) << r.why;
  EXPECT_EQ(r.culprit, 9);
}

TEST(DriverIssue7, AChangeInOtherCrashesAcrossTheCulpritIsReported) {
  Sim run(CommitGraph::linear(17), 1);
  run.tester.rate = [](int x) { return x >= 9 ? 0.6 : 0.0; };
  run.tester.other_crash = [](int x) { return x >= 9 ? 0.7 : 0.0; };
  const Result r = run.go();
  EXPECT_TRUE(r.other.changed) << r.other.old_crashes << "/" << r.other.old_boots << " vs " << r.other.new_crashes
                               << "/" << r.other.new_boots;
  Sim calm(CommitGraph::linear(17), 1);
  calm.tester.rate = run.tester.rate;
  EXPECT_FALSE(calm.go().other.changed);
}


TEST(DriverIssue7, AStrengtheningStepRunsOnlyTheBootsThatReachConfidence) {
  // A culprit near the bad end: its parent is strengthened until the robust
  // posterior rules out a lowered rate there. Seen before: every such step
  // ran 32 trials, so the last one overshot by about 16 trials on average.
  int short_steps = 0;
  for (int seed = 1; seed <= 10; ++seed) {
    Sim run(CommitGraph::linear(33), seed);
    run.tester.rate = [](int x) { return x >= 30 ? 0.3 : 0.0; };
    const Result r = run.go();
    ASSERT_EQ(r.outcome, Outcome::Found) << r.why;
    for (const StepRecord& s : r.steps) {
      if (s.kind != "strengthen" || s.trials >= 32) continue;
      ++short_steps;
      // Shorter only because it was enough: clean, and at confidence after it.
      EXPECT_EQ(s.failures, 0);
      EXPECT_GE(s.top_probability, 0.99) << "seed " << seed << ": a short step that left the posterior below confidence";
    }
  }
  EXPECT_GT(short_steps, 0);
}

TEST(DriverIssue7, ARateThatRisesAtALaterCommitDoesNotMakeThatCommitTheCulprit) {
  // The culprit (20) fails at 2%; a later commit (a random one of 21..45)
  // raises it to 30%. Seen before the fix: that later commit was named at
  // >= 0.99 in about 14% of runs (bench/bisect_sim, 1000 runs).
  int wrong = 0;
  std::string named;
  for (int seed = 1; seed <= 24; ++seed) {
    Sim run(CommitGraph::linear(64), seed);
    const int change = 21 + seed % 25;
    run.tester.rate = [change](int x) { return x >= change ? 0.3 : x >= 20 ? 0.02 : 0.0; };
    const Result r = run.go();
    if ((r.outcome == Outcome::Found || r.outcome == Outcome::NoOp) && r.culprit != 20) {
      ++wrong;
      named += " " + std::to_string(r.culprit) + "(rise at " + std::to_string(change) + ")";
    }
  }
  // About 1% wrong is the target; 2 of 24 would already be 8%.
  EXPECT_LE(wrong, 1) << "named:" << named;
}

}  // namespace
}  // namespace rb::bisect
