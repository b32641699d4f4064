// Ranges from real git repositories made in a temp dir (tiny files, no kernel).
#include "bisect/range.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>

#include "bisect/driver.h"
#include "util/fs.h"
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

// Fails every trial on commits that descend from the culprit (the truth of
// a merge history), never elsewhere; records into the store like the VM tester.
class DagTester : public Tester {
 public:
  DagTester(std::set<std::string> bad, double rate, store::Store& db, int64_t s, uint64_t seed)
      : bad_(std::move(bad)), rate_(rate), db_(db), s_(s), rng_(seed) {}
  TestBuild build(const std::string& c) override {
    db_.record_build(s_, c, "f", "k", true, 1, false, "img-" + c, "");
    return {true, false, "img-" + c};
  }
  TestCounts run(const std::string& c, int max_trials, const std::function<bool(bool)>& on_trial) override {
    if (++runs_ > 500) throw std::runtime_error("the driver keeps stepping");
    record::BootRecord b;
    b.outcome = record::Outcome::Pass;
    TestCounts n;
    std::bernoulli_distribution fail(bad_.count(c) ? rate_ : 0.0);
    for (int i = 0; i < max_trials; ++i) {
      const bool f = fail(rng_);
      record::TrialRecord t;
      t.number = i + 1;
      t.outcome = f ? record::Outcome::Fail : record::Outcome::Pass;
      b.trials.push_back(t);
      ++n.trials;
      n.failures += f;
      if (!on_trial(f)) break;
    }
    db_.record_boot(s_, c, b);
    return n;
  }

 private:
  std::set<std::string> bad_;
  double rate_;
  store::Store& db_;
  int64_t s_;
  std::mt19937_64 rng_;
  int runs_ = 0;
};

TEST(CommitRangeMerges, CulpritOnAShortBranchMergedBeforeALongCleanOne) {
  IssueTopology t;
  const CommitRange range = commit_range(t.repo.path(), t.good, t.bad);
  TempDir dir(fs::temp_directory_path(), "range-db");
  store::Store db(dir.path() / "h.db");
  int right = 0;
  for (int seed = 1; seed <= 5; ++seed) {
    const int64_t s = db.session("merge" + std::to_string(seed), "bisect", "{}");
    DagTester tester(t.bad_set, 0.5, db, s, seed);
    Driver d(range, DriverParams{}, db, s, tester);
    std::atomic<bool> stop{false};
    const DriverResult r = d.run(stop);
    const std::string named = r.culprit_position >= 0 ? range.commits[r.culprit_position] : "";
    // Never certain of a wrong commit, and right in (almost) every run.
    if (r.outcome == DriverOutcome::Found) EXPECT_EQ(named, t.culprit) << d.report(r);
    right += named == t.culprit;
  }
  EXPECT_GE(right, 4);
}

}  // namespace
}  // namespace rb::bisect
