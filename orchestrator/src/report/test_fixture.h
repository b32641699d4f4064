// Test-only: the three nights of orchestrator/testdata/report (a default-like
// matrix with a regression on the last night, a cell whose build failed, and
// a cell full of hostile strings), plus bytes JSON cannot carry (invalid
// UTF-8), and the outputs every report test renders from them.
#pragma once
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/compare.h"
#include "report/documents.h"
#include "report/trend.h"

namespace rb::report::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string testdata(const std::string& name) { return std::string(RB_TESTDATA_DIR) + "/report/" + name; }

struct Fixture {
  std::vector<record::Night> nights;
  Comparison comparison;
  std::vector<CellTrend> trends;
  const record::Night& current() const { return nights.back(); }
};

inline Fixture load_fixture() {
  Fixture f;
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "night-" + std::to_string(i) + ".json";
    f.nights.push_back(run_from_json(nlohmann::json::parse(read_file(testdata(name))), name));
  }
  // Invalid UTF-8 and a lone continuation byte in a console excerpt and a
  // detail: what a corrupted serial line delivers.
  for (auto& c : f.nights.back().cells)
    for (auto& b : c.boot_list)
      if (!b.oops_excerpt.empty()) {
        b.oops_excerpt += "\n[    2.105] \xff\xfe garbage \xc0\xaf\x80 end";
        b.detail += " \xed\xa0\x80";
      }
  f.comparison = compare_runs(f.nights[1], f.nights[2]);
  f.comparison.baseline_label = "night 2 (2026-11-24T02:00:03Z)";
  f.comparison.current_label = "night 3 (2026-11-25T02:00:05Z)";
  f.trends = cell_trends(f.nights);
  return f;
}

}  // namespace rb::report::testing
