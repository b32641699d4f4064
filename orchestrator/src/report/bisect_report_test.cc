#include "report/bisect_report.h"

#include <gtest/gtest.h>

namespace rb::report {
namespace {

bisect::Result sample(bisect::Outcome o) {
  bisect::Result r;
  r.outcome = o;
  r.why = "posterior 0.9950 >= 0.99, confirmed";
  r.confidence = 0.99;
  r.culprit = 5;
  r.culprit_commit = std::string(40, 'c');
  r.culprit_subject = "mm/hugetlb: drop the recheck";
  r.posterior = 0.995;
  r.top = {{std::string(40, 'c'), 0.995}, {std::string(40, 'b'), 0.004}};
  r.commits.push_back({4, std::string(40, 'b'), "filler", "k4", 1, 0, 3, 0, 24, 0, 0, false, 0.004, 0.001});
  r.commits.push_back({5, std::string(40, 'c'), "mm/hugetlb", "k5", 1, 0, 1, 0, 8, 3, 1, false, 0.999, 0.995});
  r.steps.push_back({"search", std::string(40, 'c'), "k5", 8, 3, 1, 0, false, std::string(40, 'c'), 0.62, 120});
  r.steps.push_back({"search", std::string(40, 'd'), "", 0, 0, 0, 0, true, std::string(40, 'c'), 0.62, 170});
  r.builds = 2;
  r.boots = 4;
  r.trials = 32;
  r.cost = 132;
  r.budget = 5000;
  return r;
}

TEST(BisectReport, JsonCarriesTheDocumentedFields) {
  const auto j = bisect_json(sample(bisect::Outcome::Found), 0);
  EXPECT_EQ(j["schema"], "racebisect-bisect/1");
  EXPECT_EQ(j["outcome"], "found");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["culprit"]["commit"], std::string(40, 'c'));
  EXPECT_TRUE(j["ambiguous"].is_null());
  ASSERT_EQ(j["commits"].size(), 2u);
  EXPECT_EQ(j["commits"][1]["failures"], 3);
  EXPECT_NEAR(j["commits"][1]["rate"].get<double>(), 3.0 / 8, 1e-12);
  EXPECT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][1]["build_failed"], true);
  for (const char* k : {"top", "rate", "flake_rate", "other_crashes", "builds", "boots", "trials", "cost", "budget",
                        "wall_seconds", "p_range_wrong", "direction", "confidence"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(BisectReport, AmbiguousResultListsTheSetAndNoCulprit) {
  auto r = sample(bisect::Outcome::Ambiguous);
  r.culprit = -1;
  r.ambiguous = {std::string(40, 'b'), std::string(40, 'c')};
  r.ambiguous_posterior = 0.995;
  const auto j = bisect_json(r, 5);
  EXPECT_TRUE(j["culprit"].is_null());
  EXPECT_EQ(j["ambiguous"]["commits"].size(), 2u);
  const std::string text = bisect_text(r);
  EXPECT_NE(text.find("could be any of"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string(40, 'b')), std::string::npos);
}

TEST(BisectReport, LogHasOneLinePerStepWithKernelTrialsAndPosterior) {
  const std::string log = bisect_log(sample(bisect::Outcome::Found).steps);
  EXPECT_NE(log.find("step   1: search       cccccccccccc  kernel k5"), std::string::npos) << log;
  EXPECT_NE(log.find("8 trial(s)   3 failure(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("0.6200"), std::string::npos) << log;
  EXPECT_NE(log.find("build failed"), std::string::npos) << log;
  EXPECT_NE(bisect_text(sample(bisect::Outcome::NoOp)).find("no-op"), std::string::npos);
}

TEST(BisectReport, EventsRenderStepsNotesAndOldPlainText) {
  const std::string out = bisect_events(
      {{"t1", "{\"type\":\"note\",\"text\":\"start/resume: 9 commits\"}"},
       {"t2", "{\"type\":\"step\",\"kind\":\"search\",\"commit\":\"" + std::string(40, 'a') +
                  "\",\"trials\":4,\"failures\":1,\"boots\":1,\"top\":\"" + std::string(40, 'a') + "\",\"top_p\":0.5}"},
       {"t3", "an event from an older version"}});
  EXPECT_NE(out.find("t1  start/resume: 9 commits"), std::string::npos) << out;
  EXPECT_NE(out.find("t2  step   1: search       aaaaaaaaaaaa"), std::string::npos) << out;
  EXPECT_NE(out.find("t3  an event from an older version"), std::string::npos) << out;
}

}  // namespace
}  // namespace rb::report
