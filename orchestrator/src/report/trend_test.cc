#include "report/trend.h"

#include <gtest/gtest.h>

namespace rb::report {
namespace {

record::Night trend_night(int64_t id, const std::string& at,
                          std::vector<std::tuple<std::string, int, int, double>> cells) {
  record::Night n;
  n.id = id;
  n.started_at = at;
  for (auto& [name, trials, failures, exposure] : cells) {
    record::CellResult c;
    c.cell = name;
    c.trials = trials;
    c.failures = failures;
    c.exposure_s = exposure;
    n.cells.push_back(c);
  }
  return n;
}

TEST(CellTrends, OrdersNightsAndTestsEachCell) {
  // Given out of order: the trend must follow time, not input order.
  std::vector<record::Night> nights{
      trend_night(3, "2026-11-27T02:00:00Z", {{"racing/v", 20, 20, 10}, {"clean/v", 60, 0, 180}}),
      trend_night(1, "2026-11-25T02:00:00Z", {{"racing/v", 20, 20, 40}, {"clean/v", 60, 0, 180}}),
      trend_night(2, "2026-11-26T02:00:00Z", {{"racing/v", 20, 20, 20}, {"new/v", 5, 1, 15}}),
  };
  auto t = cell_trends(nights);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].cell, "racing/v");  // first appearance in time order
  ASSERT_EQ(t[0].points.size(), 3u);
  EXPECT_EQ(t[0].points[0].night_id, 1);
  EXPECT_EQ(t[0].points[2].night_id, 3);
  // 20 failures each night in 40, 20, then 10 racing-seconds: the rate
  // quadruples, which the per-trial view (100% every night) cannot see.
  EXPECT_EQ(t[0].per_trial.p_value, 1.0);
  EXPECT_LT(t[0].exposure.p_value, 1e-3);
  EXPECT_GT(t[0].exposure.z, 0);
  EXPECT_EQ(t[0].exposure.statistic,
            stats::poisson_trend({20, 20, 20}, {40, 20, 10}).statistic);
  EXPECT_EQ(t[1].cell, "clean/v");
  EXPECT_EQ(t[1].points.size(), 2u);
  EXPECT_EQ(t[1].exposure.p_value, 1.0);  // never failed: nothing to trend
  EXPECT_EQ(t[2].cell, "new/v");
  EXPECT_EQ(t[2].points.size(), 1u);
}

TEST(CellTrends, NightsWhereTheCellCouldNotRunAddNoPoint) {
  auto broken = trend_night(2, "2026-11-26T02:00:00Z", {{"k/v", 0, 0, 0}});
  broken.cells[0].build_error = "make failed";
  auto t = cell_trends({trend_night(1, "2026-11-25T02:00:00Z", {{"k/v", 10, 2, 28}}), broken,
                        trend_night(3, "2026-11-27T02:00:00Z", {{"k/v", 10, 3, 27}})});
  ASSERT_EQ(t.size(), 1u);
  ASSERT_EQ(t[0].points.size(), 2u);
  EXPECT_EQ(t[0].points[1].night_id, 3);
  EXPECT_NEAR(t[0].points[0].stats.rate.rate, 2 / 28.0, 1e-15);
}

}  // namespace
}  // namespace rb::report
