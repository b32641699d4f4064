#include "report/documents.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace rb::report {
namespace {

using nlohmann::json;

record::Night sample_night() {
  record::Night n;
  n.id = 7;
  n.started_at = "2026-11-25T02:00:00Z";
  n.host = "ci-1";
  n.qemu_version = "7.2.9";
  n.accelerator = "tcg";
  n.matrix = "default";
  n.seconds = 600;
  record::CellResult c;
  c.cell = "6.1-reverted/missing";
  c.kernel_label = "6.1-reverted";
  c.variant = "missing";
  c.kernel = {"tarball:aa", {"revert.patch:bb"}, "cc", "dd"};
  c.boots = 2;
  c.trials = 8;
  c.failures = 7;
  c.exposure_s = 9.5;
  c.boot_list = {{1, "fail", 4, 4, 3.0, "boots/6.1-reverted-1.log", "", ""},
                 {2, "crash", 4, 3, 6.5, "boots/6.1-reverted-2.log", "BUG: x", "<script>x</script>"}};
  record::CellResult clean;
  clean.cell = "6.1-shipped/missing";
  clean.trials = 60;
  clean.exposure_s = 180;
  n.cells = {c, clean};
  return n;
}

TEST(Documents, NightRoundTripsThroughJson) {
  const auto n = sample_night();
  const json j = night_json(n);
  EXPECT_EQ(j["schema"], kNightSchema);
  EXPECT_EQ(j["cells"][0]["per_second"]["method"], "garwood");
  EXPECT_NEAR(j["cells"][0]["per_second"]["rate"].get<double>(), 7 / 9.5, 1e-15);
  const auto back = run_from_json(json::parse(j.dump()), "night.json");
  EXPECT_EQ(back.id, 7);
  EXPECT_EQ(back.started_at, n.started_at);
  ASSERT_EQ(back.cells.size(), 2u);
  EXPECT_EQ(back.cells[0].kernel, n.cells[0].kernel);
  EXPECT_EQ(back.cells[0].failures, 7);
  EXPECT_DOUBLE_EQ(back.cells[0].exposure_s, 9.5);
  ASSERT_EQ(back.cells[0].boot_list.size(), 2u);
  EXPECT_EQ(back.cells[0].boot_list[1].oops_excerpt, "<script>x</script>");
  EXPECT_EQ(back.cells[1].failures, 0);
}

// A corrupted serial line put invalid UTF-8 into a crash detail: the writer
// used to throw at dump() (nlohmann refuses invalid UTF-8), losing the whole
// document. Now the bad bytes become U+FFFD and control characters are
// escaped by JSON itself.
TEST(Documents, InvalidUtf8FromAConsoleDoesNotBreakTheDocument) {
  auto n = sample_night();
  n.cells[0].boot_list[1].detail = "BUG: \xff\xfe bad \x1b[31m";
  n.cells[0].cell = "k\xc0/v";
  std::string dumped;
  ASSERT_NO_THROW(dumped = night_json(n).dump());
  const json back = json::parse(dumped);
  EXPECT_EQ(back["cells"][0]["boot_list"][1]["detail"], "BUG: \xEF\xBF\xBD\xEF\xBF\xBD bad \x1b[31m");
  EXPECT_EQ(back["cells"][0]["cell"], "k\xEF\xBF\xBD/v");
  auto cmp = compare_runs(n, n);
  EXPECT_NO_THROW(comparison_json(cmp).dump());
  EXPECT_NO_THROW(history_json({n}, cell_trends({n})).dump());
}

TEST(Documents, UnboundedFiguresAreNull) {
  record::Night n;
  record::CellResult c;
  c.cell = "k/v";
  c.trials = 0;  // no exposure: Garwood upper is +inf
  n.cells = {c};
  const json j = night_json(n);
  EXPECT_TRUE(j["cells"][0]["per_second"]["ci_high"].is_null());
  EXPECT_NO_THROW(json::parse(j.dump()));
}

// The README's results.json (schema 1, no "schema" key): kernels become
// cells, racing time comes from the trials.
TEST(Documents, ReadsAReproduceResultsFile) {
  const json j = json::parse(R"({
    "case": "uffd-hugetlb", "accelerator": "tcg", "seconds": 210.0,
    "verdict": {"kind": "reproduced", "line": "...", "exit_code": 0, "p_value": 1.2e-15},
    "kernels": [
      {"label": "unpatched", "role": "bug", "trials": 3, "failures": 2, "infra_errors": 1,
       "crashes": 0, "boot_failures": 0, "hangs": 0,
       "build": {"key": "k", "cache_hit": true, "seconds": 0.4, "bzimage_sha256": "b1", "source": "tarball:s1", "error": ""},
       "args": {"variant": "missing"},
       "boots": [{"index": 1, "outcome": "fail", "detail": "", "console_log": "boots/unpatched-1.log",
                  "trials": [{"n": 1, "outcome": "fail", "ms": 3000, "first_bogus_ms": 500},
                             {"n": 2, "outcome": "pass", "ms": 3000, "first_bogus_ms": -1},
                             {"n": 3, "outcome": "fail", "ms": 3000, "first_bogus_ms": 1500},
                             {"n": 4, "outcome": "infra", "ms": 0, "first_bogus_ms": -1}]}]},
      {"label": "patched", "role": "fixed", "trials": 0, "failures": 0,
       "build": {"bzimage_sha256": "", "source": "tarball:s1", "error": "make: *** [bzImage] Error 2"}}
    ]})");
  const auto n = run_from_json(j, "results.json");
  EXPECT_EQ(n.matrix, "uffd-hugetlb");
  ASSERT_EQ(n.cells.size(), 2u);
  const auto& u = n.cells[0];
  EXPECT_EQ(u.cell, "unpatched");
  EXPECT_EQ(u.variant, "missing");
  EXPECT_EQ(u.kernel.bzimage_sha256, "b1");
  EXPECT_DOUBLE_EQ(u.exposure_s, 0.5 + 3.0 + 1.5);
  ASSERT_EQ(u.boot_list.size(), 1u);
  EXPECT_EQ(u.boot_list[0].trials, 3);
  EXPECT_EQ(u.boot_list[0].failures, 2);
  EXPECT_EQ(n.cells[1].build_error, "make: *** [bzImage] Error 2");
  // Schema 2 carries the exposure explicitly; it wins over the trials.
  json v2 = j;
  v2["schema"] = kResultsSchema;
  v2["kernels"][0]["exposure"] = {{"seconds", 4.25}};
  EXPECT_DOUBLE_EQ(run_from_json(v2, "r2.json").cells[0].exposure_s, 4.25);
}

struct BadDoc {
  const char* name;
  std::string doc;
  std::string message;
};

TEST(Documents, MalformedDocumentsNameTheFileAndThePath) {
  const BadDoc cases[] = {
      {"not an object", "[1, 2]", "x.json: (top level): expected an object"},
      {"unknown schema", R"({"schema": "racebisect.night/9", "cells": []})", "x.json: schema: 'racebisect.night/9'"},
      {"neither kind", R"({"hello": 1})", "neither a night document nor"},
      {"cells missing", R"({"schema": "racebisect.night/1"})", "x.json: cells: missing"},
      {"negative trials", R"({"schema": "racebisect.night/1", "cells": [{"cell": "a", "trials": -1, "failures": 0}]})",
       "x.json: cells[0].trials: expected an integer >= 0"},
      {"fractional failures", R"({"schema": "racebisect.night/1", "cells": [{"cell": "a", "trials": 3, "failures": 1.5}]})",
       "cells[0].failures: expected an integer >= 0"},
      {"more failures than trials", R"({"schema": "racebisect.night/1", "cells": [{"cell": "a", "trials": 1, "failures": 2}]})",
       "cells[0]: more failures than trials"},
      {"exposure as text", R"({"schema": "racebisect.night/1", "cells": [{"cell": "a", "trials": 1, "failures": 0, "exposure_s": "3"}]})",
       "cells[0].exposure_s: expected a finite number >= 0"},
      {"empty cell name", R"({"schema": "racebisect.night/1", "cells": [{"cell": "", "trials": 1, "failures": 0}]})",
       "cells[0].cell: empty cell name"},
      {"patch not a string", R"({"schema": "racebisect.night/1", "cells": [{"cell": "a", "trials": 1, "failures": 0, "kernel": {"patches": [3]}}]})",
       "cells[0].kernel.patches[0]: expected a string"},
      {"results kernel without label", R"({"kernels": [{"trials": 1, "failures": 0}]})", "kernels[0].label: missing"},
      {"results trial with bad ms", R"({"kernels": [{"label": "k", "trials": 1, "failures": 0, "boots": [{"index": 1, "outcome": "pass", "trials": [{"outcome": "pass", "ms": -5}]}]}]})",
       "kernels[0].boots[0].trials[0].ms: expected a finite number >= 0"},
  };
  for (const auto& c : cases) {
    try {
      run_from_json(json::parse(c.doc), "x.json");
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << c.name;
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.name << ": " << e.what();
    }
  }
}

TEST(Documents, ComparisonAndHistoryCarryTheirFigures) {
  auto a = sample_night(), b = sample_night();
  b.cells[1].failures = 18;
  b.cells[1].trials = 20;
  b.cells[1].exposure_s = 20;
  CompareParams per_second;
  per_second.measure = Measure::Exposure;
  const auto cmp = compare_runs(a, b, per_second);
  const json j = comparison_json(cmp);
  EXPECT_EQ(j["schema"], kCompareSchema);
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["counts"]["regression"], 1);
  EXPECT_EQ(j["cells"][1]["verdict"], "regression");
  EXPECT_EQ(j["cells"][1]["measure"], "per-racing-second");
  EXPECT_TRUE(j["cells"][1]["ratio"].is_null());  // 0 failures in the baseline: ratio unbounded
  EXPECT_DOUBLE_EQ(j["cells"][1]["adjusted_p"].get<double>(), cmp.cells[1].adjusted_p);
  const auto trends = cell_trends({a, b});
  const json h = history_json({a, b}, trends);
  EXPECT_EQ(h["schema"], kHistorySchema);
  EXPECT_EQ(h["cells"][1]["points"].size(), 2u);
  EXPECT_EQ(h["cells"][1]["trend_per_second"]["method"], "poisson-score");
}

TEST(Documents, ExposureAndStoppingPieces) {
  stats::ExposureSummary e;
  e.failures = 3;
  e.seconds = 7;
  e.trials = 4;
  e.rate = stats::poisson_rate(3, 7);
  const json j = exposure_json(e, 0.95);
  EXPECT_EQ(j["method"], "garwood");
  EXPECT_DOUBLE_EQ(j["ci_high"].get<double>(), stats::garwood(3, 7).high);
  stats::StopDecision d;  // nothing seen yet: upper unbounded
  const json s = stopping_json(d, {});
  EXPECT_EQ(s["state"], "continue");
  EXPECT_TRUE(s["upper"].is_null());
  EXPECT_EQ(s["method"], "confidence-sequence");
}

}  // namespace
}  // namespace rb::report
