#include "stats/sprt.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rb::stats {
namespace {

TEST(Sprt, BoundariesMatchHandComputedValues) {
  Sprt s(SprtParams{});  // p0 0.001, p1 0.1, alpha = beta = 0.01
  EXPECT_NEAR(s.upper(), std::log(99.0), 1e-12);         // 4.5951
  EXPECT_NEAR(s.lower(), -std::log(99.0), 1e-12);
  Sprt t(SprtParams{0.001, 0.3, 0.05, 0.2, 40});
  EXPECT_NEAR(t.upper(), std::log(0.8 / 0.05), 1e-12);   // 2.7726
  EXPECT_NEAR(t.lower(), std::log(0.2 / 0.95), 1e-12);   // -1.5581
}

TEST(Sprt, StepsAreLogLikelihoodRatios) {
  Sprt s(SprtParams{});
  s.add(false);
  EXPECT_NEAR(s.llr(), std::log(0.9 / 0.999), 1e-12);
  s.add(true);
  EXPECT_NEAR(s.llr(), std::log(0.9 / 0.999) + std::log(100.0), 1e-12);
  EXPECT_EQ(s.trials(), 2);
  EXPECT_EQ(s.failures(), 1);
}

TEST(Sprt, TrialsToAcceptGoodWithZeroFailures) {
  // ceil(log(99) / -log(0.9/0.999)) = ceil(44.03) = 45
  Sprt s(SprtParams{});
  EXPECT_EQ(s.trials_to_accept_good(), 45);
  for (int i = 0; i < 44; ++i) EXPECT_EQ(s.add(false), SprtDecision::Continue) << "trial " << i + 1;
  EXPECT_EQ(s.add(false), SprtDecision::Good);
  EXPECT_EQ(s.trials(), 45);
  // ceil(log(99) / -log(0.7/0.999)) = ceil(12.92) = 13
  EXPECT_EQ(Sprt(SprtParams{0.001, 0.3, 0.01, 0.01, 40}).trials_to_accept_good(), 13);
}

TEST(Sprt, OneEarlyFailureIsDecisiveWhenP0IsTiny) {
  Sprt s(SprtParams{});
  EXPECT_EQ(s.add(true), SprtDecision::Bad);
  // ...but not after a pass: log(100) + log(0.9/0.999) = 4.50 < 4.60.
  Sprt u(SprtParams{});
  u.add(false);
  EXPECT_EQ(u.add(true), SprtDecision::Continue);
  EXPECT_EQ(u.add(true), SprtDecision::Bad);
}

TEST(Sprt, OneFailureAmongPassesNeeds89CleanTrialsToOutweigh) {
  Sprt s(SprtParams{});
  s.add(false);
  s.add(true);
  for (int i = 0; i < 87; ++i) ASSERT_EQ(s.add(false), SprtDecision::Continue) << i;
  EXPECT_EQ(s.add(false), SprtDecision::Good);  // 89 passes in all
}

TEST(Sprt, BudgetExhaustionIsInconclusiveAndFinal) {
  Sprt s(SprtParams{0.001, 0.1, 0.01, 0.01, 10});
  for (int i = 0; i < 9; ++i) EXPECT_EQ(s.add(false), SprtDecision::Continue);
  EXPECT_EQ(s.add(false), SprtDecision::Inconclusive);
  EXPECT_EQ(s.add(true), SprtDecision::Inconclusive);  // ignored after the decision
  EXPECT_EQ(s.trials(), 10);
  EXPECT_EQ(s.failures(), 0);
  EXPECT_STREQ(to_string(s.decision()), "inconclusive");
}

}  // namespace
}  // namespace rb::stats
