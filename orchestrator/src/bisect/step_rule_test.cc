#include "bisect/step_rule.h"

#include <gtest/gtest.h>

#include <functional>

namespace rb::bisect {
namespace {

// P(each verdict) by walking every trial sequence (pruned below 1e-15): an
// independent check of step_odds' dynamic programme.
StepOdds walk(const StepRuleParams& r, double rate) {
  StepOdds out;
  std::function<void(StepRule, double, int)> go = [&](StepRule s, double w, int n) {
    if (w < 1e-15) return;
    switch (s.verdict()) {
      case StepVerdict::Reproduces: out.reproduces += w; return;
      case StepVerdict::Clean: out.clean += w; return;
      case StepVerdict::Inconclusive: out.inconclusive += w; return;
      default: break;
    }
    out.mean_trials += w;
    StepRule f = s, p = s;
    f.add(true);
    p.add(false);
    go(f, w * rate, n + 1);
    go(p, w * (1 - rate), n + 1);
  };
  go(StepRule(r), 1.0, 0);
  return out;
}

TEST(StepRule, ExactOddsMatchAWalkOverEveryPath) {
  for (double p1 : {0.3, 0.1}) {
    const auto r = resolve_step_rule({.p0 = 0.001, .p1 = p1, .alpha = 0.01, .beta = 0.01, .max_trials = 40}, std::nullopt);
    for (double rate : {0.0, 0.02, 0.1, 0.3}) {
      const auto a = step_odds(r, rate), b = walk(r, rate);
      EXPECT_NEAR(a.clean, b.clean, 1e-9) << p1 << " " << rate;
      EXPECT_NEAR(a.reproduces, b.reproduces, 1e-9);
      EXPECT_NEAR(a.inconclusive, b.inconclusive, 1e-9);
      EXPECT_NEAR(a.mean_trials, b.mean_trials, 1e-6);
    }
  }
}

TEST(StepRule, TheOldDefaultsCalledATwoPercentRaceGood87PercentOfTheTime) {
  // p1 0.3, 40 trials (before issue 7): the figure the issue quotes.
  const auto old = resolve_step_rule({.p0 = 0.001, .p1 = 0.3, .alpha = 0.01, .beta = 0.01, .max_trials = 40}, std::nullopt);
  EXPECT_NEAR(step_odds(old, 0.02).clean, 0.869, 0.001);
}

TEST(StepRule, RateAwareDefaults) {
  // Nothing learnt: p1 = min_rate, and room for a clean verdict.
  const auto none = resolve_step_rule({}, std::nullopt);
  EXPECT_DOUBLE_EQ(none.p1, 0.01);
  EXPECT_GE(none.max_trials, stats::Sprt({none.p0, none.p1, none.alpha, none.beta, 1}).trials_to_accept_good());
  EXPECT_LE(step_odds(none, 0.01).clean, 0.02);
  // A frequent race learnt from reproducing commits: cheaper clean verdicts.
  const auto learnt = resolve_step_rule({}, LearnedRate{40, 20});
  EXPECT_GT(learnt.p1, 0.3);
  EXPECT_LE(learnt.p1, 0.5);
  EXPECT_LT(learnt.max_trials, none.max_trials / 10);
  EXPECT_LE(step_odds(learnt, 0.5).clean, 0.02);
  // Explicit values win; inconsistent ones are refused.
  EXPECT_DOUBLE_EQ(resolve_step_rule({.p1 = 0.2}, LearnedRate{40, 20}).p1, 0.2);
  EXPECT_THROW(resolve_step_rule({.p0 = 0.3, .p1 = 0.2}, std::nullopt), std::invalid_argument);
  EXPECT_THROW(resolve_step_rule({.min_rate = 0}, std::nullopt), std::invalid_argument);
}

TEST(StepRule, FixedNIsBadAtTheFirstFailureAndGoodAfterNPasses) {
  FixedNRule r(3);
  EXPECT_EQ(r.add(false), StepVerdict::Continue);
  EXPECT_EQ(r.add(false), StepVerdict::Continue);
  EXPECT_EQ(r.add(false), StepVerdict::Clean);
  FixedNRule b(10);
  EXPECT_EQ(b.add(false), StepVerdict::Continue);
  EXPECT_EQ(b.add(true), StepVerdict::Reproduces);
}

}  // namespace
}  // namespace rb::bisect
