#include "stats/reproduce_schedule.h"

#include <gtest/gtest.h>

#include <random>

namespace rb::stats {
namespace {

using record::Outcome;
using record::TrialRecord;

constexpr size_t kU = 0, kP = 1;

TrialRecord trial(bool failed, long ms) {
  TrialRecord t;
  t.outcome = failed ? Outcome::Fail : Outcome::Pass;
  t.ms = ms;
  t.first_bogus_ms = failed ? ms : -1;
  return t;
}

// Plays a whole sequential reproduce on one slot: each boot's trials come
// from an exponential race at the kernel's rate, trials of `len_ms`.
struct Played {
  int boots_u = 0, boots_p = 0;
  StopDecision u, p;
};

Played play(double rate_u, double rate_p, uint64_t seed, long len_ms = 3000) {
  ReproduceSchedule s(kU, kP, SequentialParams{}, 50);
  s.start({true, true});
  std::mt19937_64 rng(seed);
  Played out;
  std::vector<int> running{0, 0};
  while (auto task = s.next(running)) {
    (task->kernel == kU ? out.boots_u : out.boots_p)++;
    const double rate = task->kernel == kU ? rate_u : rate_p;
    std::exponential_distribution<double> first(rate > 0 ? rate : 1);
    record::BootRecord b;
    for (int i = 0; i < task->trials; ++i) {
      const double at = rate > 0 ? first(rng) * 1000 : 1e18;
      const TrialRecord t = at < len_ms ? trial(true, static_cast<long>(at)) : trial(false, len_ms);
      b.trials.push_back(t);
      if (!s.on_trial(task->kernel, t)) break;
    }
    s.on_boot(task->kernel, b);
  }
  out.u = s.stopping().unpatched();
  out.p = s.stopping().patched();
  return out;
}

TEST(ReproduceSchedule, UnpatchedFirstThenPatchedUntilEachIsShown) {
  const Played r = play(1.0, 0.0, 7);
  EXPECT_EQ(r.u.finding, Finding::RacePresent);
  EXPECT_EQ(r.u.state, StopState::Shown);
  EXPECT_EQ(r.p.finding, Finding::Fixed);
  EXPECT_EQ(r.p.state, StopState::Shown);
  EXPECT_LE(r.p.upper, 0.1 * r.u.lower);
  EXPECT_GE(r.boots_u, 1);
  EXPECT_GE(r.boots_p, 1);
}

TEST(ReproduceSchedule, APatchThatChangesNothingIsShownNotFixed) {
  const Played r = play(1.0, 1.0, 11);
  EXPECT_EQ(r.p.finding, Finding::NotFixed);
}

TEST(ReproduceSchedule, NoRaceOnUnpatchedMeansNoPatchedBoots) {
  const Played r = play(0.0, 0.0, 3);
  EXPECT_EQ(r.u.state, StopState::Cap);
  EXPECT_EQ(r.u.finding, Finding::None);
  EXPECT_EQ(r.boots_p, 0);
}

TEST(ReproduceSchedule, BootsWithoutTrialsGiveTheKernelUp) {
  ReproduceSchedule s(kU, kP, SequentialParams{}, 10);
  s.start({true, true});
  std::vector<int> running{0, 0};
  for (int i = 0; i < kMaxBootsWithoutTrials; ++i) {
    auto t = s.next(running);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->kernel, kU);
    s.on_boot(kU, record::BootRecord{});  // e.g. a boot failure
  }
  EXPECT_TRUE(s.gave_up(kU));
  EXPECT_FALSE(s.next(running));
}

TEST(ReproduceSchedule, ASecondSlotRacesThePatchedKernelMeanwhile) {
  ReproduceSchedule s(kU, kP, SequentialParams{}, 10);
  s.start({true, true});
  auto first = s.next({0, 0});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kernel, kU);
  auto second = s.next({1, 0});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kernel, kP);
  EXPECT_FALSE(s.next({1, 1}));
}

TEST(ReproduceSchedule, AnUnbuiltKernelIsNeverBooted) {
  ReproduceSchedule s(kU, kP, SequentialParams{}, 10);
  s.start({false, true});
  EXPECT_FALSE(s.next({0, 0}));
}

}  // namespace
}  // namespace rb::stats
