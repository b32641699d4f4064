// Golden files for every report writer, rendered from the fixture nights
// (report/test_fixture.h). RB_UPDATE_GOLDEN=1 rewrites them (review the diff);
// RB_REPORT_OUT=DIR also writes the outputs there, for the ctest checks that
// read them back with real consumers (python3-junitparser, headless Chromium).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "report/html.h"
#include "report/junit.h"
#include "report/test_fixture.h"

namespace rb::report {
namespace {

using testing::load_fixture;
using testing::read_file;
using testing::testdata;

void write_file(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

// Reports the first differing line instead of two whole documents.
void expect_golden(const std::string& name, const std::string& got) {
  const std::string path = testdata("golden/" + name);
  if (std::getenv("RB_UPDATE_GOLDEN")) {
    write_file(path, got);
    return;
  }
  const std::string want = read_file(path);
  if (got == want) return;
  std::istringstream a(got), b(want);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (la != lb || ga != gb) {
      ADD_FAILURE() << path << " differs at line " << line << "\n  got:  " << la.substr(0, 300) << "\n  want: "
                    << lb.substr(0, 300) << "\n(RB_UPDATE_GOLDEN=1 rewrites the golden file; review the diff)";
      return;
    }
  }
}

struct Outputs {
  std::string junit, html, compare_json, night_json, history_json;
};

Outputs render() {
  const auto f = load_fixture();
  HtmlPage page;
  page.night = &f.current();
  page.comparison = &f.comparison;
  page.trends = f.trends;
  return {junit_xml(f.current(), &f.comparison), html_report(page), comparison_json(f.comparison).dump(1) + "\n",
          night_json(f.current()).dump(1) + "\n", history_json(f.nights, f.trends).dump(1) + "\n"};
}

TEST(ReportOutputs, MatchGoldenFilesAndAreWrittenForTheConsumers) {
  const Outputs o = render();
  expect_golden("junit.xml", o.junit);
  expect_golden("report.html", o.html);
  expect_golden("compare.json", o.compare_json);
  expect_golden("night.json", o.night_json);
  expect_golden("history.json", o.history_json);
  if (const char* out = std::getenv("RB_REPORT_OUT")) {
    const std::filesystem::path dir(out);
    write_file(dir / "junit.xml", o.junit);
    write_file(dir / "report.html", o.html);
    write_file(dir / "compare.json", o.compare_json);
    write_file(dir / "night.json", o.night_json);
    write_file(dir / "history.json", o.history_json);
  }
}

TEST(ReportOutputs, RenderingIsDeterministic) {
  const Outputs a = render(), b = render();
  EXPECT_EQ(a.junit, b.junit);
  EXPECT_EQ(a.html, b.html);
}

}  // namespace
}  // namespace rb::report
