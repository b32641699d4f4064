#include "report/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace rb::report {
namespace {

TEST(Progress, LineShowsCountsAndEta) {
  struct Row {
    ProgressState st;
    double elapsed;
    const char* want;
  };
  const Row rows[] = {
      {{"building unpatched (1/2)", 0, 2, 0, 0, 0, 0, std::nullopt}, 75, "[1m15s] building unpatched (1/2) | builds 0/2"},
      {{"booting", 2, 2, 3, 10, 12, 9, 42.0}, 3700, "[1h01m] booting | builds 2/2 | boots 3/10 | trials 12 (9 failed) | ETA 0m42s"},
      {{"booting", 0, 0, 4, 0, 0, 0, std::nullopt}, 5, "[0m05s] booting | boots 4"},
  };
  for (const auto& r : rows) EXPECT_EQ(progress_line(r.st, r.elapsed), r.want);
}

TEST(Progress, EtaFromThePaceSoFar) {
  EXPECT_FALSE(boots_eta(0, 5, 0, 1));                // no pace yet
  EXPECT_DOUBLE_EQ(*boots_eta(2, 4, 20, 1), 40);     // 10 s a boot, 4 left
  EXPECT_DOUBLE_EQ(*boots_eta(2, 3, 20, 2), 20);     // two slots: 2 waves
  EXPECT_DOUBLE_EQ(*boots_eta(5, 0, 50, 1), 0);
}

TEST(Progress, PlainLinesForLogsAndOneFinalNewlineOnATerminal) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  {
    ProgressMeter m(f, /*tty=*/true);
    m.update({"booting", 0, 0, 1, 2, 0, 0, std::nullopt});
    m.update({"booting", 0, 0, 2, 2, 0, 0, std::nullopt});
  }
  std::fclose(f);
  const std::string out(buf, len);
  free(buf);
  EXPECT_NE(out.find("\r\033[K[0m00s] booting | boots 2/2"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace rb::report
