// Nightly CI end to end: three nights of a CI-sized matrix (linux-source-6.1
// shipped and fix-reverted; the default matrix's variants MISSING and MINOR),
// real kernels in real QEMU. The default matrix with 6.12 as well is
// bench/nightly-default (too much disk and time for CI). Night 2 repeats
// night 1: no regression. Night 3 swaps the fixed 6.1 kernel for the
// fix-reverted one: a regression of that cell only, exit 1. The JUnit file
// is read back by python3-junitparser and the HTML page loaded in headless
// Chromium (screenshot kept in the e2e work directory).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/e2e_binary.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb {
namespace {

using Cli = testing::CliRun;
using testing::racebisect;

const fs::path kWork = fs::path(RB_E2E_WORK) / "nightly";
const fs::path kFixtures = fs::path(RB_E2E_SOURCE_DIR) / "orchestrator/testdata/nightly";

Cli night(int n, const char* matrix) {
  return racebisect({"nightly", "--matrix", (kFixtures / matrix).string(), "--db", (kWork / "history.db").string(),
                     "--out", (kWork / ("night" + std::to_string(n))).string()});
}

nlohmann::json json_of(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

std::map<std::string, std::string> verdicts(const nlohmann::json& cmp) {
  std::map<std::string, std::string> out;
  for (const auto& c : cmp["cells"]) out[c["cell"].get<std::string>()] = c["verdict"].get<std::string>();
  return out;
}

class NightlyE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kWork);
    fs::create_directories(kWork);
  }
};

TEST_F(NightlyE2E, ThreeNightsNoChangeThenARegressionOfOneCell) {
  const Cli first = night(1, "small.toml");
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("no baseline night"), std::string::npos) << first.out;
  const auto n1 = json_of(kWork / "night1/night.json");
  ASSERT_EQ(n1["cells"].size(), 4u);
  for (const auto& c : n1["cells"]) EXPECT_GT(c["trials"].get<int>(), 0) << c.dump();

  const Cli second = night(2, "small.toml");
  EXPECT_EQ(second.code, 0) << second.out;
  for (const auto& [cell, v] : verdicts(json_of(kWork / "night2/compare.json")))
    EXPECT_TRUE(v == "no change" || v == "inconclusive") << cell << ": " << v << "\n" << second.out;

  const Cli third = night(3, "regressed.toml");
  EXPECT_EQ(third.code, 1) << third.out;
  const auto v3 = verdicts(json_of(kWork / "night3/compare.json"));
  for (const auto& [cell, v] : v3) {
    if (cell == "6.1/missing") EXPECT_EQ(v, "regression") << third.out;
    else EXPECT_NE(v, "regression") << cell << "\n" << third.out;
  }
  EXPECT_NE(third.out.find("kernel changed"), std::string::npos) << third.out;

  const Cli hist = racebisect({"history", "--db", (kWork / "history.db").string(), "--cell", "6.1/missing"});
  EXPECT_EQ(hist.code, 0) << hist.out;
  EXPECT_NE(hist.out.find("6.1/missing: trend"), std::string::npos) << hist.out;

  // Real consumers of the reports.
  const fs::path scripts = fs::path(RB_E2E_SOURCE_DIR) / "orchestrator/src/report";
  const fs::path dir = kWork / "night3";
  RunResult junit = run_process({"/usr/bin/python3", (scripts / "junit_readback_test.py").string(), (dir / "junit.xml").string(),
                                 (dir / "compare.json").string()});
  EXPECT_EQ(junit.exit_code, 0) << junit.output;
  RunResult html = run_process({"/usr/bin/python3", (scripts / "html_chromium_e2etest.py").string(),
                                (dir / "report.html").string(), (dir / "compare.json").string(),
                                (dir / "report.png").string()},
                               {}, std::chrono::seconds(600));
  EXPECT_EQ(html.exit_code, 0) << html.output;
  EXPECT_TRUE(fs::exists(dir / "report.png"));
}

TEST_F(NightlyE2E, CompareRefusesBadInputBeforeAnyWork) {
  const Cli c = racebisect({"compare", "nonsense", "latest", "--db", (kWork / "empty.db").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("nonsense"), std::string::npos) << c.out;
}

}  // namespace
}  // namespace rb
