#include "stats/exposure.h"

#include <gtest/gtest.h>

namespace rb::stats {
namespace {

using record::Outcome;

record::TrialRecord trial(Outcome o, long ms, long first_bogus_ms = -1) {
  record::TrialRecord t;
  t.outcome = o;
  t.ms = ms;
  t.first_bogus_ms = first_bogus_ms;
  return t;
}

struct ExposureCase {
  const char* name;
  record::TrialRecord t;
  bool counted, failed, imputed;
  double seconds;
};

TEST(TrialExposure, Table) {
  const ExposureCase cases[] = {
      {"pass counts its whole length", trial(Outcome::Pass, 3000), true, false, false, 3.0},
      {"fail stops the clock at the first failure", trial(Outcome::Fail, 3000, 1040), true, true, false, 1.04},
      {"fail without a time is imputed", trial(Outcome::Fail, 3000), true, true, true, 3.0},
      {"fail after the end is imputed", trial(Outcome::Fail, 3000, 3500), true, true, true, 3.0},
      {"fail at time 0 is a zero-length exposure", trial(Outcome::Fail, 3000, 0), true, true, false, 0.0},
      {"infra trial does not race", trial(Outcome::Infra, 3000), false, false, false, 0},
      {"crash trial does not race", trial(Outcome::Crash, 3000), false, false, false, 0},
  };
  for (const auto& c : cases) {
    auto e = trial_exposure(c.t);
    ASSERT_EQ(e.has_value(), c.counted) << c.name;
    if (!e) continue;
    EXPECT_EQ(e->failed, c.failed) << c.name;
    EXPECT_EQ(e->imputed, c.imputed) << c.name;
    EXPECT_DOUBLE_EQ(e->seconds, c.seconds) << c.name;
  }
}

TEST(SummarizeExposure, PoolsBootsAndKeepsPerBootCounts) {
  record::BootRecord a, b;
  a.trials = {trial(Outcome::Fail, 3000, 500), trial(Outcome::Fail, 3000, 1500), trial(Outcome::Infra, 3000)};
  b.trials = {trial(Outcome::Pass, 3000), trial(Outcome::Fail, 3000, 2000)};
  auto s = summarize_exposure({a, b});
  EXPECT_EQ(s.trials, 4);
  EXPECT_EQ(s.failures, 3);
  EXPECT_DOUBLE_EQ(s.seconds, 0.5 + 1.5 + 3.0 + 2.0);
  ASSERT_EQ(s.per_boot.size(), 2u);
  EXPECT_EQ(s.per_boot[0], (std::pair<int, double>{2, 2.0}));
  EXPECT_EQ(s.per_boot[1], (std::pair<int, double>{1, 5.0}));
  EXPECT_DOUBLE_EQ(s.rate.rate, 3 / 7.0);
  EXPECT_EQ(s.rate.ci.low, garwood(3, 7.0).low);
}

}  // namespace
}  // namespace rb::stats
