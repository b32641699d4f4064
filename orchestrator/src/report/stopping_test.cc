#include "report/stopping.h"

#include <gtest/gtest.h>

#include "report/text.h"

namespace rb::report {
namespace {

TEST(StoppingLine, SaysWhatWasShownWithItsBounds) {
  stats::ReproduceStopping s;
  EXPECT_EQ(stopping_line(s), "unpatched: running, 0 failures in 0.0 racing-s");
  EXPECT_EQ(progress_line(s, true), "patched: 0 failures in 0.0 racing-s, waiting for the unpatched kernel to show the race");
  while (s.unpatched().state == stats::StopState::Continue) s.add_unpatched(true, 1.0);
  const auto u = s.unpatched();
  const std::string start = "unpatched: race present, rate >= " + rate_per_s(u.lower) +
                            " (97.5% time-uniform bound), " + std::to_string(u.failures) + " failures in ";
  EXPECT_EQ(stopping_line(s).substr(0, start.size()), start);
  s.add_patched(false, 3.0);
  EXPECT_NE(progress_line(s, true).find("more clean racing-s to show it 10x lower"), std::string::npos);
  while (s.patched().state == stats::StopState::Continue) s.add_patched(false, 3.0);
  const auto p = s.patched();
  EXPECT_NE(stopping_line(s).find("; patched: fixed, rate <= " + rate_per_s(p.upper) +
                                  ", at most 1/10 of the unpatched lower bound, 0 failures in "),
            std::string::npos)
      << stopping_line(s);
}

TEST(StoppingLine, NotFixedAndCaps) {
  stats::SequentialParams params;
  params.max_trials = 30;
  stats::ReproduceStopping s(params);
  for (int i = 0; i < 30; ++i) s.add_unpatched(false, 3.0);
  EXPECT_EQ(stopping_line(s), "unpatched: race NOT shown within the cap, 0 failures in 90.0 racing-s");
  stats::ReproduceStopping t(params);
  while (t.unpatched().state == stats::StopState::Continue) t.add_unpatched(true, 1.0);
  while (t.patched().state == stats::StopState::Continue) t.add_patched(true, 1.0);  // the patch changes nothing
  EXPECT_NE(stopping_line(t).find("patched: NOT fixed, rate >= "), std::string::npos) << stopping_line(t);
}

}  // namespace
}  // namespace rb::report
