#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "util/error.h"
#include "util/fs.h"

namespace rb::store {
namespace {

record::BootRecord boot(int passes, int fails, record::Outcome outcome = record::Outcome::Pass) {
  record::BootRecord b;
  b.kernel_label = "k";
  b.outcome = outcome;
  for (int i = 0; i < passes + fails; ++i) {
    record::TrialRecord t;
    t.number = i + 1;
    t.outcome = i < passes ? record::Outcome::Pass : record::Outcome::Fail;
    b.trials.push_back(t);
  }
  return b;
}

const CommitEvidence& find(const std::vector<CommitEvidence>& ev, const std::string& c) {
  for (const auto& e : ev)
    if (e.commit == c) return e;
  throw std::runtime_error("no evidence for " + c);
}

TEST(Store, AggregatesEvidencePerCommit) {
  TempDir dir(fs::temp_directory_path(), "store-test");
  Store s(dir.path() / "h.db");
  int64_t id = s.session("k1", "bisect", "{}");
  s.record_build(id, "bbb", "x", "key", true, 10, false, "sha-b", "");
  s.record_boot(id, "bbb", boot(3, 0));
  s.record_boot(id, "aaa", boot(1, 2, record::Outcome::Fail));
  s.record_boot(id, "aaa", boot(0, 0, record::Outcome::Hang));
  s.record_build(id, "ccc", "x", "key", false, 5, false, "", "compile error");
  auto ev = s.evidence(id);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(find(ev, "bbb").trials, 3);
  EXPECT_EQ(find(ev, "bbb").failures, 0);
  EXPECT_EQ(find(ev, "bbb").builds, 1);
  EXPECT_EQ(find(ev, "bbb").bzimage_sha256, "sha-b");
  EXPECT_EQ(find(ev, "aaa").trials, 3);
  EXPECT_EQ(find(ev, "aaa").failures, 2);
  EXPECT_EQ(find(ev, "aaa").other, 1);  // the hung boot
  EXPECT_EQ(find(ev, "aaa").builds, 0);
  EXPECT_TRUE(find(ev, "ccc").build_failed);
  EXPECT_EQ(find(ev, "ccc").builds, 0);
}

TEST(Store, ReopeningKeepsEverythingAndFindsTheSession) {
  TempDir dir(fs::temp_directory_path(), "store-test");
  int64_t id;
  {
    Store s(dir.path() / "h.db");
    id = s.session("key", "bisect", R"({"good":"a"})");
    s.record_boot(id, "c1", boot(2, 1));
    s.record_event(id, "tested c1");
  }
  Store s(dir.path() / "h.db");
  EXPECT_EQ(s.session("key", "bisect", "{}"), id);
  EXPECT_EQ(*s.session_meta(id), R"({"good":"a"})");
  auto ev = s.evidence(id);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].trials, 3);
  EXPECT_EQ(ev[0].failures, 1);
  ASSERT_EQ(s.events(id).size(), 1u);
  EXPECT_EQ(s.events(id)[0].second, "tested c1");
  EXPECT_NE(s.session("other", "bisect", "{}"), id);
}

}  // namespace
}  // namespace rb::store

namespace rb::store {
namespace {

TEST(Store, ParallelSlotsCanRecordBootsAtOnce) {
  TempDir dir(fs::temp_directory_path(), "store-test");
  Store s(dir.path() / "h.db");
  const int64_t id = s.session("par", "bisect", "{}");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) s.record_boot(id, "c" + std::to_string(t), boot(2, 1));
    });
  for (auto& th : threads) th.join();
  int trials = 0;
  for (const auto& e : s.evidence(id)) trials += e.trials;
  EXPECT_EQ(trials, 4 * 300 * 3);
}

}  // namespace
}  // namespace rb::store

namespace rb::store {
namespace {

// Several processes (as parallel `bisect-step`s would) asking for the same
// sessions at once all get the one id per key, and none fails.
TEST(Store, SessionIsAtomicAcrossProcesses) {
  TempDir dir(fs::temp_directory_path(), "store-test");
  const fs::path db = dir.path() / "h.db";
  { Store s(db); }  // schema first, so only session() races
  constexpr int kProcs = 4, kKeys = 150;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        Store s(db);
        std::string out;
        for (int k = 0; k < kKeys; ++k)
          out += std::to_string(s.session("key" + std::to_string(k), "bisect", "{}")) + "\n";
        write_file_atomic(dir.path() / ("ids" + std::to_string(p)), out);
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int st = 0;
    ::waitpid(k, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "a process failed to get its sessions";
  }
  const std::string first = read_file(dir.path() / "ids0");
  for (int p = 1; p < kProcs; ++p) EXPECT_EQ(read_file(dir.path() / ("ids" + std::to_string(p))), first);
}

TEST(Store, ErrorsNameTheDatabase) {
  TempDir dir(fs::temp_directory_path(), "store-test");
  const fs::path db = dir.path() / "h.db";
  write_file_atomic(db, std::string(8192, 'x'));  // not a database
  try {
    Store s(db);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(db.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rb::store
