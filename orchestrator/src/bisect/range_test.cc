// Ranges from real git repositories made in a temp dir (tiny files, no kernel).
#include "bisect/range.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <sstream>

#include "bisect/driver.h"
#include "bisect/test_support.h"
#include "util/fs.h"
#include "util/error.h"
#include "util/process.h"

namespace rb::bisect {
namespace {

// A throwaway repository with fixed identities and dates, so shas are stable.
class GitRepo {
 public:
  GitRepo() : dir_(fs::temp_directory_path(), "range-test") {
    git({"init", "-q", "-b", "main"});
    git({"config", "user.name", "t"});
    git({"config", "user.email", "t@localhost"});
  }
  const fs::path& path() const { return dir_.path(); }
  std::string git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", dir_.path().string()});
    const std::string out =
        run_checked(args, {.cwd = {}, .output = {}, .env = {{"GIT_AUTHOR_DATE", date()}, {"GIT_COMMITTER_DATE", date()}}});
    return out.substr(0, out.find_last_not_of('\n') + 1);
  }
  // One commit changing its own file; returns its sha.
  std::string commit(const std::string& name) {
    write_file_atomic(dir_.path() / (name + ".txt"), name + "\n");
    git({"add", name + ".txt"});
    git({"commit", "-q", "-m", name});
    return git({"rev-parse", "HEAD"});
  }
  std::string merge(const std::string& branch) {
    git({"merge", "-q", "--no-ff", "-m", "merge " + branch, branch});
    return git({"rev-parse", "HEAD"});
  }

 private:
  std::string date() { return "2022-10-01T00:00:" + std::to_string(10 + tick_++ % 50) + "Z"; }
  TempDir dir_;
  int tick_ = 0;
};

// The topology of issue 7: mainline, a short topic branch holding the culprit
// merged first, a long branch of good commits merged after it, more mainline.
struct IssueTopology {
  GitRepo repo;
  std::string good, bad, culprit;
  std::set<std::string> bad_set;  // descendants-or-self of the culprit
  IssueTopology(int long_branch = 12) {
    good = repo.commit("base");
    repo.commit("m1");
    const std::string fork = repo.commit("m2");
    repo.git({"checkout", "-q", "-b", "short", fork});
    repo.commit("a1");
    culprit = repo.commit("a2-culprit");
    repo.commit("a3");
    repo.git({"checkout", "-q", "-b", "long", fork});
    for (int i = 1; i <= long_branch; ++i) repo.commit("b" + std::to_string(i));
    repo.git({"checkout", "-q", "main"});
    repo.merge("short");
    repo.merge("long");
    repo.commit("m3");
    bad = repo.commit("m4");
    const std::string list = repo.git({"rev-list", "--ancestry-path", culprit + ".." + bad});
    std::istringstream in(list);
    for (std::string s; in >> s;) bad_set.insert(s);
    bad_set.insert(culprit);
  }
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(CommitRange, LinearHistoryIsAChainInGitsOrder) {
  GitRepo repo;
  const std::string good = repo.commit("base");
  for (int i = 1; i <= 6; ++i) repo.commit("c" + std::to_string(i));
  const std::string bad = repo.git({"rev-parse", "HEAD"});
  const CommitRange r = commit_range(repo.path(), good, bad);
  EXPECT_TRUE(r.graph.is_linear());
  auto want = lines(repo.git({"rev-list", "--reverse", "--topo-order", "--ancestry-path", good + ".." + bad}));
  want.insert(want.begin(), good);
  EXPECT_EQ(r.commits, want);
  EXPECT_EQ(r.subjects.front(), "base");
  EXPECT_EQ(r.subjects.back(), "c6");
}

TEST(CommitRange, MergesKeepTheirParents) {
  IssueTopology t(4);
  const CommitRange r = commit_range(t.repo.path(), t.good, t.bad);
  EXPECT_FALSE(r.graph.is_linear());
  // Same set as git bisect: NEW ^OLD, plus the old end.
  auto want = lines(t.repo.git({"rev-list", t.bad, "^" + t.good}));
  EXPECT_EQ(r.commits.size(), want.size() + 1);
  for (size_t x = 1; x < r.commits.size(); ++x) {
    auto parents = lines(t.repo.git({"rev-parse", r.commits[x] + "^@"}));
    ASSERT_EQ(r.graph.parents(static_cast<int>(x)).size(), parents.size()) << r.subjects[x];
    for (size_t k = 0; k < parents.size(); ++k) EXPECT_EQ(r.commits[r.graph.parents(static_cast<int>(x))[k]], parents[k]);
  }
  // Descends from the culprit exactly where git says so.
  const int c = r.index(t.culprit);
  for (size_t x = 0; x < r.commits.size(); ++x)
    EXPECT_EQ(r.graph.is_ancestor(c, static_cast<int>(x)), t.bad_set.count(r.commits[x]) > 0) << r.subjects[x];
}

TEST(CommitRange, RefusesUnknownOrUnrelatedEnds) {
  GitRepo repo;
  const std::string a = repo.commit("a");
  const std::string b = repo.commit("b");
  EXPECT_THROW(commit_range(repo.path(), a, "no-such-commit"), Error);
  EXPECT_THROW(commit_range(repo.path(), b, a), Error);
}

TEST(CommitRangeMerges, CulpritOnAShortBranchMergedBeforeALongCleanOne) {
  IssueTopology t;
  const CommitRange range = commit_range(t.repo.path(), t.good, t.bad);
  int right = 0;
  for (int seed = 1; seed <= 5; ++seed) {
    MemoryEvidenceLog log;
    testing::ScriptedTester tester(range, log, seed);
    tester.rate = [&](int x) { return t.bad_set.count(range.commits[x]) ? 0.5 : 0.0; };
    Driver d(range, DriverParams{}, log, tester);
    std::atomic<bool> stop{false};
    const Result r = d.run(stop);
    // Never certain of a wrong commit, and right in (almost) every run.
    if (r.outcome == Outcome::Found) {
      EXPECT_EQ(r.culprit_commit, t.culprit) << r.why;
    }
    right += r.culprit_commit == t.culprit;
  }
  EXPECT_GE(right, 4);
}

}  // namespace
}  // namespace rb::bisect
