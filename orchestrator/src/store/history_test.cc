#include "store/history.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::store {
namespace {

record::CellResult cell(const std::string& name, int trials, int failures, double exposure,
                        const std::string& bzimage = "bz-1") {
  record::CellResult c;
  c.cell = name;
  c.kernel_label = name.substr(0, name.find('/'));
  c.variant = name.substr(name.find('/') + 1);
  c.kernel = {"tarball:aaaa", {"revert-hugetlb-uffd-recheck.patch:1111", "extra.patch:2222"}, "cfg-1", bzimage};
  c.boots = 2;
  c.trials = trials;
  c.failures = failures;
  c.exposure_s = exposure;
  c.seconds = 42.5;
  c.infra_errors = 1;
  c.crashes = 1;
  c.boot_list = {{1, "fail", trials / 2, failures, exposure / 2, "boots/" + c.kernel_label + "-1.log", "", ""},
                 {2, "crash", trials - trials / 2, 0, exposure / 2, "boots/" + c.kernel_label + "-2.log",
                  "BUG: unable to handle page fault", "[ 1.0] BUG: unable to handle page fault\n[ 1.1] RIP: x"}};
  return c;
}

record::Night night(const std::string& at, const std::string& matrix = "default") {
  record::Night n;
  n.started_at = at;
  n.host = "ci-1";
  n.qemu_version = "7.2.9";
  n.accelerator = "tcg";
  n.matrix = matrix;
  n.seconds = 612.5;
  n.cells = {cell("6.1-reverted/missing", 20, 19, 21.5), cell("6.1-shipped/missing", 60, 0, 180)};
  return n;
}

struct Db {
  TempDir dir{fs::temp_directory_path(), "history-test"};
  fs::path path() const { return dir.path() / "history.db"; }
};

TEST(History, RoundTripsANightExactly) {
  Db db;
  History h(db.path());
  auto n = night("2026-11-25T02:00:00Z");
  const int64_t id = h.record_night(n);
  auto back = h.night(id);
  ASSERT_TRUE(back);
  n.id = id;
  EXPECT_EQ(back->started_at, n.started_at);
  EXPECT_EQ(back->host, "ci-1");
  EXPECT_EQ(back->qemu_version, "7.2.9");
  EXPECT_EQ(back->accelerator, "tcg");
  EXPECT_EQ(back->matrix, "default");
  EXPECT_DOUBLE_EQ(back->seconds, 612.5);
  ASSERT_EQ(back->cells.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto &a = n.cells[i], &b = back->cells[i];
    EXPECT_EQ(b.cell, a.cell);
    EXPECT_EQ(b.kernel, a.kernel);  // source, patches in order, config, bzImage
    EXPECT_EQ(b.trials, a.trials);
    EXPECT_EQ(b.failures, a.failures);
    EXPECT_EQ(b.infra_errors, 1);
    EXPECT_EQ(b.crashes, 1);
    EXPECT_DOUBLE_EQ(b.exposure_s, a.exposure_s);
    EXPECT_DOUBLE_EQ(b.seconds, 42.5);
    ASSERT_EQ(b.boot_list.size(), 2u);
    EXPECT_EQ(b.boot_list[1].detail, "BUG: unable to handle page fault");
    EXPECT_EQ(b.boot_list[1].oops_excerpt, a.boot_list[1].oops_excerpt);
    EXPECT_EQ(b.boot_list[0].console_log, a.boot_list[0].console_log);
  }
  EXPECT_FALSE(h.night(id + 100));
}

TEST(History, PreviousLatestPinnedAndResolve) {
  Db db;
  History h(db.path());
  // Recorded out of order, two matrices: "previous" follows start time within one matrix.
  const int64_t n2 = h.record_night(night("2026-11-26T02:00:00Z"));
  const int64_t n1 = h.record_night(night("2026-11-25T02:00:00Z"));
  const int64_t other = h.record_night(night("2026-11-25T12:00:00Z", "big"));
  const int64_t n3 = h.record_night(night("2026-11-27T02:00:00Z"));
  EXPECT_EQ(h.latest(), n3);
  EXPECT_EQ(h.latest("big"), other);
  EXPECT_EQ(h.previous(n3), n2);
  EXPECT_EQ(h.previous(n2), n1);
  EXPECT_FALSE(h.previous(n1));
  EXPECT_FALSE(h.previous(other));
  EXPECT_FALSE(h.pinned());
  h.pin(n1);
  h.pin(n2);  // one pinned night at a time
  EXPECT_EQ(h.pinned(), n2);
  EXPECT_EQ(h.resolve("pinned"), n2);
  EXPECT_EQ(h.resolve("latest"), n3);
  EXPECT_EQ(h.resolve("previous"), n2);
  EXPECT_EQ(h.resolve(std::to_string(n1)), n1);
  for (const char* bad : {"0", "-1", "12abc", "", "999999", "pinned; DROP TABLE nights"}) {
    try {
      h.resolve(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << bad;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(h.pin(12345), Error);
}

TEST(History, DateFiltersAndCellHistory) {
  Db db;
  History h(db.path());
  h.record_night(night("2026-11-24T23:59:59Z"));
  auto mid = night("2026-11-25T02:00:00Z");
  mid.cells[1] = cell("6.1-shipped/missing", 60, 2, 170, "bz-2");
  h.record_night(mid);
  h.record_night(night("2026-11-26T02:00:00Z"));
  EXPECT_EQ(h.nights().size(), 3u);
  EXPECT_EQ(h.nights("2026-11-25").size(), 2u);
  EXPECT_EQ(h.nights("", "2026-11-25").size(), 2u);  // a bare date includes that whole day
  EXPECT_EQ(h.nights("2026-11-25", "2026-11-25").size(), 1u);
  EXPECT_EQ(h.nights("2026-12").size(), 0u);
  auto all = h.nights();
  EXPECT_EQ(all.front().started_at, "2026-11-26T02:00:00Z");  // newest first
  EXPECT_EQ(all.front().cells, 2);
  EXPECT_EQ(all.front().failing_cells, 1);
  auto hist = h.cell_history("6.1-shipped/missing");
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0].started_at, "2026-11-24T23:59:59Z");  // oldest first
  EXPECT_EQ(hist[1].cell.failures, 2);
  EXPECT_EQ(hist[1].cell.kernel.bzimage_sha256, "bz-2");
  EXPECT_EQ(h.cell_history("6.1-shipped/missing", "2026-11-25", "2026-11-25").size(), 1u);
  EXPECT_TRUE(h.cell_history("no-such/cell").empty());
  EXPECT_EQ(h.cell_names(), (std::vector<std::string>{"6.1-reverted/missing", "6.1-shipped/missing"}));
  for (const char* bad : {"yesterday", "2026-1-5", "2026-11-25 02:00", "'; --"}) {
    EXPECT_THROW(h.nights(bad), Error) << bad;
    EXPECT_THROW(h.cell_history("x", "", bad), Error) << bad;
  }
}

TEST(History, RefusesBadNightsAndWritesNothing) {
  Db db;
  History h(db.path());
  auto dup = night("2026-11-25T02:00:00Z");
  dup.cells.push_back(dup.cells[0]);
  EXPECT_THROW(h.record_night(dup), Error);
  EXPECT_THROW(h.record_night(night("")), Error);
  EXPECT_THROW(h.record_night(night("last tuesday")), Error);
  EXPECT_TRUE(h.nights().empty());
}

TEST(History, SharesTheDatabaseWithTheBisectStoreAndSurvivesReopening) {
  Db db;
  int64_t id;
  {
    Store s(db.path());  // the bisection tables
    s.session("bisect-1", "bisect", "{}");
    History h(db.path());
    id = h.record_night(night("2026-11-25T02:00:00Z"));
    h.pin(id);
  }
  History again(db.path());
  EXPECT_EQ(again.pinned(), id);
  EXPECT_EQ(again.night(id)->cells.size(), 2u);
  Store s(db.path());
  EXPECT_EQ(s.session("bisect-1", "bisect", "{}"), 1);
}

TEST(History, RefusesANewerSchema) {
  Db db;
  { History h(db.path()); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE history_schema SET version = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  try {
    History h(db.path());
    ADD_FAILURE() << "opened a newer schema";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    EXPECT_NE(std::string(e.what()).find("schema version 2"), std::string::npos);
  }
}

}  // namespace
}  // namespace rb::store
