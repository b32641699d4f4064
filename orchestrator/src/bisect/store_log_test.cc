// The evidence log over the store, and the query methods appended to the store for it.
#include <gtest/gtest.h>

#include "bisect/store_log.h"
#include "store/store.h"
#include "util/fs.h"

namespace rb::store {
namespace {

record::BootRecord boot(record::Outcome outcome, int passes, int fails, const std::string& detail = "") {
  record::BootRecord b;
  b.outcome = outcome;
  b.detail = detail;
  for (int i = 0; i < passes + fails; ++i) {
    record::TrialRecord t;
    t.number = i + 1;
    t.outcome = i < fails ? record::Outcome::Fail : record::Outcome::Pass;
    b.trials.push_back(t);
  }
  return b;
}

TEST(StoreQueries, BootCountsAndBuildRowsFeedTheEvidenceLog) {
  TempDir dir(fs::temp_directory_path(), "store-q");
  Store db(dir.path() / "h.db");
  const int64_t s = db.session("k", "bisect", "{}"), other = db.session("k2", "bisect", "{}");
  db.record_build(s, "aaa", "a", "key", true, 1, false, "sha-a", "");
  db.record_build(s, "bbb", "b", "key", false, 1, false, "", "make failed");
  db.record_build(other, "aaa", "a", "key", true, 1, false, "sha-x", "");
  db.record_boot(s, "aaa", boot(record::Outcome::Pass, 6, 2));
  db.record_boot(s, "aaa", boot(record::Outcome::Crash, 3, 0, "BUG: unrelated"));
  auto target = boot(record::Outcome::Crash, 2, 0, "BUG: target");
  record::TrialRecord crash;
  crash.number = 3;
  crash.outcome = record::Outcome::Fail;
  crash.reason = "crash: BUG: target";
  target.trials.push_back(crash);
  db.record_boot(s, "aaa", target);
  db.record_boot(s, "aaa", boot(record::Outcome::BootFailure, 0, 0));
  db.record_boot(other, "aaa", boot(record::Outcome::Pass, 8, 0));

  const auto rows = db.boot_counts(s);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].passes, 6);
  EXPECT_EQ(rows[0].fails, 2);
  EXPECT_EQ(rows[2].crash_trials, 1);
  EXPECT_EQ(db.boot_counts(s, "bbb").size(), 0u);
  EXPECT_EQ(db.build_rows(s).size(), 2u);

  bisect::StoreEvidenceLog log(db, s);
  const auto a = log.evidence("aaa");
  EXPECT_EQ(a.builds, 1);
  EXPECT_EQ(a.kernel_sha256, "sha-a");
  ASSERT_EQ(a.boots.size(), 4u);
  EXPECT_EQ(a.trials(), 6 + 2 + 3 + 3);
  EXPECT_EQ(a.failures(), 2 + 1);
  EXPECT_EQ(a.other_crashes(), 1);  // the matching crash is a failure, not an "other" crash
  EXPECT_EQ(a.boots[1].other_title, "BUG: unrelated");
  EXPECT_EQ(a.empty_boots(), 1);
  const auto b = log.evidence("bbb");
  EXPECT_EQ(b.builds, 0);
  EXPECT_EQ(b.build_failures, 1);
  EXPECT_EQ(log.evidence().size(), 2u);
  log.record_event("{\"type\":\"note\",\"text\":\"x\"}");
  EXPECT_EQ(log.events().size(), 1u);
}

}  // namespace
}  // namespace rb::store
