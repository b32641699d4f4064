// End-to-end bisection on a real kernel history: scripts/make-bisect-repo
// makes a small git repository from linux-source-6.1 in which one commit
// removes the hugetlb_pte_stable() rechecks; `git bisect run racebisect
// bisect-step` must name that commit. Small (9 commits) to stay within CI.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb {
namespace {

struct Repo {
  fs::path dir;
  std::string good, bad, culprit;
};

// Bare mirrors (0.3 GB each, no checkout: the CI's disk is small), so
// `git bisect` implies --no-checkout and bisect-step tests BISECT_HEAD.
// Each test is its own process under ctest, and a repository takes ~80 s to
// make: one is kept beside a stamp of its arguments and the script's hash,
// and remade only when either changes.
const Repo& make_repo(const std::string& name, std::vector<std::string> args) {
  static std::map<std::string, Repo> repos;
  auto it = repos.find(name);
  if (it != repos.end()) return it->second;
  args.push_back("--bare");
  const fs::path script = fs::path(RB_SOURCE_DIR) / "scripts/make-bisect-repo";
  Repo r;
  r.dir = fs::path(RB_E2E_WORK) / name;
  const fs::path stamp = r.dir.string() + ".made";
  std::string key = sha256_file(script) + "\n";
  for (const auto& a : args) key += a + " ";
  key += "\n";
  std::string out;
  if (fs::exists(r.dir) && fs::exists(stamp) && read_file(stamp).starts_with(key)) {
    out = read_file(stamp).substr(key.size());
  } else {
    fs::remove(stamp);
    fs::remove_all(r.dir);
    std::vector<std::string> argv{script.string(), r.dir.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    out = run_checked(argv);
    write_file_atomic(stamp, key + out);
  }
  std::istringstream in(out);
  for (std::string k, sha; in >> k >> sha;) (k == "good" ? r.good : k == "bad" ? r.bad : r.culprit) = sha;
  return repos[name] = r;
}

const Repo& bisect_repo(bool fix) {
  if (fix) return make_repo("bisect-repo-fix", {"--commits", "8", "--culprit", "5", "--fix"});
  return make_repo("bisect-repo", {"--commits", "8", "--culprit", "5"});
}

std::string git_in(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir.string()});
  return run_checked(args);
}

// bisect-step learns the race's rate from commits that reproduced in its
// session; run on the end that fails first, as the README says, so that
// clean commits need a few trials, not the ~510 of --min-rate 0.01.
std::vector<std::string> step_argv(bool fix) {
  std::vector<std::string> argv{RB_BINARY, "bisect-step", "--trials-per-boot", "8", "--duration-ms", "2000", "--out",
                                (fs::path(RB_E2E_WORK) / "bisect-logs").string()};
  if (fix) argv.push_back("--fix");
  return argv;
}

void teach_rate(const Repo& r, const std::string& failing_end, bool fix) {
  git_in(r.dir, {"update-ref", "--no-deref", "HEAD", failing_end});  // bare: nothing to check out
  RunResult res = run_process(step_argv(fix), {.cwd = r.dir, .output = {}, .env = {}}, std::chrono::seconds(600));
  ASSERT_EQ(res.exit_code, fix ? 0 : 1) << res.output;
  EXPECT_NE(res.output.find("race reproduces"), std::string::npos) << res.output;
}

TEST(Bisect, GitBisectRunFindsTheCommitThatIntroducedTheRace) {
  const Repo& r = bisect_repo(false);
  git_in(r.dir, {"bisect", "reset"});
  teach_rate(r, r.bad, false);
  git_in(r.dir, {"bisect", "start", r.bad, r.good});
  std::vector<std::string> argv{"git", "-C", r.dir.string(), "bisect", "run"};
  for (const auto& a : step_argv(false)) argv.push_back(a);
  RunResult res = run_process(argv, {.cwd = r.dir, .output = {}, .env = {}}, std::chrono::seconds(2400));
  ASSERT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find(r.culprit + " is the first bad commit"), std::string::npos) << res.output;
  EXPECT_NE(res.output.find("(learnt)"), std::string::npos) << "p1 should come from the taught rate\n" << res.output;
  git_in(r.dir, {"bisect", "reset"});
}

TEST(Bisect, GitBisectRunWithOldNewTermsFindsTheFix) {
  const Repo& r = bisect_repo(true);
  git_in(r.dir, {"bisect", "reset"});
  teach_rate(r, r.good, true);
  git_in(r.dir, {"bisect", "start", "--term-old=broken", "--term-new=fixed", r.bad, r.good});
  std::vector<std::string> argv{"git", "-C", r.dir.string(), "bisect", "run"};
  for (const auto& a : step_argv(true)) argv.push_back(a);
  RunResult res = run_process(argv, {.cwd = r.dir, .output = {}, .env = {}}, std::chrono::seconds(2400));
  ASSERT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find(r.culprit + " is the first fixed commit"), std::string::npos) << res.output;
  git_in(r.dir, {"bisect", "reset"});
}

TEST(Bisect, StepAbortsTheBisectionOnBadInput) {
  const Repo& r = bisect_repo(false);
  // A fragment that cannot be satisfied must not be mistaken for "bad" (1..127).
  fs::path frag = fs::path(RB_E2E_WORK) / "bad-step.config";
  write_file_atomic(frag, "CONFIG_RACEBISECT_NO_SUCH_OPTION=y\n");
  RunResult res = run_process({RB_BINARY, "bisect-step", "--fragment", frag.string()}, {.cwd = r.dir, .output = {}, .env = {}});
  EXPECT_GE(res.exit_code, 128) << res.output;
  EXPECT_NE(res.output.find("does not exist in this kernel tree"), std::string::npos) << res.output;
}


std::string first_word(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  in >> w;
  return w;
}

// ccache's counters for the e2e cache, by name ("direct_cache_hit", ...).
std::map<std::string, long> ccache_stats() {
  const std::string dir = (fs::path(std::getenv("RACEBISECT_CACHE")) / "ccache").string();
  RunResult r = run_process({"ccache", "--print-stats"}, {.cwd = {}, .output = {}, .env = {{"CCACHE_DIR", dir}}});
  std::map<std::string, long> m;
  std::istringstream in(r.output);
  for (std::string k, v; in >> k >> v;) m[k] = std::atol(v.c_str());
  return m;
}

// Issue 10: a bisection's repository, another clone, a second checkout of
// the same source: its first build compiled the whole kernel again (487 s
// of a 949 s bisection), because the build directory's path, and so every
// compiler command, named the work tree. The same files and the same config
// must come from ccache. (A cache whose tarball kernel an older racebisect
// built holds no object in the shared layout: this then fails until that
// cache is deleted once. CI starts clean.)
TEST(Bisect, AnotherTreeOfTheSameSourceBuildsFromCachedObjects) {
  ASSERT_NE(std::getenv("RACEBISECT_CACHE"), nullptr);
  RunResult tar = run_process({RB_BINARY, "build", "--only", "patched"}, {}, std::chrono::seconds(2400));
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  const Repo& r = bisect_repo(false);
  // A fresh clone (its own work tree) whose good end's tree, linux-source-6.1
  // as imported, sits under a commit never built, so the kernel cache cannot
  // serve it.
  const fs::path clone = fs::path(RB_E2E_WORK) / ("tree-reuse-" + std::to_string(::getpid()));
  run_checked({"git", "clone", "-q", "--bare", "--shared", r.dir.string(), clone.string()});
  // 1.7 GB of checkout, kept by no later test: the CI's disk is small.
  const fs::path worktree = fs::path(std::getenv("RACEBISECT_CACHE")) / "worktrees" /
                            ("git-" + sha256_hex(fs::canonical(clone).string()).substr(0, 16));
  struct Remove {
    std::vector<fs::path> paths;
    ~Remove() {
      for (const auto& p : paths) fs::remove_all(p);
    }
  } remove{{worktree, clone}};
  const std::string tree = first_word(git_in(clone, {"rev-parse", r.good + "^{tree}"}));
  const std::string commit = first_word(git_in(
      clone, {"-c", "user.name=t", "-c", "user.email=t@t", "commit-tree", tree, "-p", r.good, "-m", "the same tree"}));
  const auto before = ccache_stats();
  RunResult b = run_process({RB_BINARY, "build", "--source", clone.string(), "--commit", commit, "--only", "patched"}, {},
                            std::chrono::seconds(2400));
  ASSERT_EQ(b.exit_code, 0) << b.output;
  ASSERT_NE(b.output.find("built"), std::string::npos) << b.output;
  const auto after = ccache_stats();
  auto delta = [&](const std::string& k) { return after.at(k) - (before.count(k) ? before.at(k) : 0); };
  const long hits = delta("direct_cache_hit") + delta("preprocessed_cache_hit"), misses = delta("cache_miss");
  std::cout << "second tree: " << hits << " ccache hits, " << misses << " misses\n";
  EXPECT_GT(hits, 0);
  EXPECT_GE(hits, 9 * misses) << "at most a tenth of the compiled files may miss";
}

TEST(Bisect, SelfDrivingBisectionSurvivesCtrlCAndFindsTheCulprit) {
  const Repo& r = bisect_repo(false);
  const fs::path db = fs::path(RB_E2E_WORK) / "bisect-self.db";
  fs::remove(db);
  const std::vector<std::string> argv{RB_BINARY, "bisect", "--good", r.good, "--bad", r.bad, "--source",
                                      r.dir.string(), "--db", db.string(), "--confidence", "0.95",
                                      "--duration-ms", "2000", "--trials-per-boot", "8", "--out",
                                      (fs::path(RB_E2E_WORK) / "bisect-self-logs").string()};
  const fs::path log1 = fs::path(RB_E2E_WORK) / "bisect-self-1.log";
  fs::remove(log1);
  {
    // Ctrl-C once some evidence is in: the run must stop with 130 and keep it.
    Process p(argv, {.cwd = {}, .output = log1, .env = {}});
    // Wait for the second finished boot ("... trials so far"): the log, not the clock, decides.
    auto boots_done = [&] {
      const std::string text = read_file(log1);
      const auto first = text.find("trials so far");
      return first != std::string::npos && text.find("trials so far", first + 1) != std::string::npos;
    };
    while (p.running() && !boots_done()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_TRUE(p.running()) << read_file(log1);
    ::kill(p.pid(), SIGINT);
    auto code = p.wait_for(std::chrono::seconds(120));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 130) << read_file(log1);
  }
  RunResult res = run_process(argv, {}, std::chrono::seconds(2400));
  EXPECT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find("culprit: " + r.culprit), std::string::npos) << res.output;
  // The resumed run started from the evidence of the interrupted one.
  RunResult log = run_process({RB_BINARY, "bisect", "--good", r.good, "--bad", r.bad, "--source", r.dir.string(),
                               "--db", db.string(), "--duration-ms", "2000", "--trials-per-boot", "8", "--log"});
  const auto first = log.output.find("start/resume: ");
  const auto second = log.output.find("start/resume: ", first + 1);
  ASSERT_NE(second, std::string::npos) << log.output;
  // "start/resume: 9 commits, N trials and M builds recorded" with N > 0.
  const std::string line = log.output.substr(second, log.output.find('\n', second) - second);
  const auto commits = line.find("commits, ");
  ASSERT_NE(commits, std::string::npos) << line;
  EXPECT_GT(std::stoi(line.substr(commits + 9)), 0) << line;
  // Replay recomputes the same culprit from the database alone.
  RunResult replay = run_process({RB_BINARY, "bisect", "--good", r.good, "--bad", r.bad, "--source", r.dir.string(),
                                  "--db", db.string(), "--confidence", "0.95", "--duration-ms", "2000",
                                  "--trials-per-boot", "8", "--replay"});
  EXPECT_NE(replay.output.find("culprit: " + r.culprit), std::string::npos) << replay.output;
}

// Issue 7: a merge history (three topic branches, the culprit on the one
// merged first, a longer clean one merged after it). The flattened line of
// the old range named the long branch's merge, "posterior 1.0000".
TEST(Bisect, SelfDrivingBisectionOnAMergeHistoryNamesTheSideBranchCulprit) {
  const Repo& r = make_repo("bisect-repo-merges", {"--topology", "merges", "--commits", "6"});
  const fs::path db = fs::path(RB_E2E_WORK) / "bisect-merges.db", json = fs::path(RB_E2E_WORK) / "bisect-merges.json";
  fs::remove(db);
  RunResult res = run_process({RB_BINARY, "bisect", "--good", r.good, "--bad", r.bad, "--source", r.dir.string(), "--db",
                               db.string(), "--duration-ms", "2000", "--trials-per-boot", "8", "--json", json.string(),
                               "--out", (fs::path(RB_E2E_WORK) / "bisect-merges-logs").string()},
                              {}, std::chrono::seconds(3600));
  EXPECT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find("culprit: " + r.culprit), std::string::npos) << res.output;
  const auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["outcome"], "found");
  EXPECT_EQ(j["culprit"]["commit"], r.culprit);
  EXPECT_GE(j["culprit"]["posterior"].get<double>(), 0.99);
}

// Issue 7: the commit before the culprit does not build, so no test can
// tell which of the two is the first bad one: both are listed, exit 5.
TEST(Bisect, BuildBreakNextToTheCulpritGivesTheAmbiguousSet) {
  const Repo& r = make_repo("bisect-repo-broken", {"--commits", "8", "--culprit", "5", "--break-build-at", "4"});
  const fs::path db = fs::path(RB_E2E_WORK) / "bisect-broken.db";
  fs::remove(db);
  RunResult res = run_process({RB_BINARY, "bisect", "--good", r.good, "--bad", r.bad, "--source", r.dir.string(), "--db",
                               db.string(), "--duration-ms", "2000", "--trials-per-boot", "8", "--out",
                               (fs::path(RB_E2E_WORK) / "bisect-broken-logs").string()},
                              {}, std::chrono::seconds(3600));
  EXPECT_EQ(res.exit_code, 5) << res.output;
  EXPECT_NE(res.output.find("could be any of"), std::string::npos) << res.output;
  EXPECT_NE(res.output.find(r.culprit), std::string::npos) << res.output;
  const std::string broken = git_in(r.dir, {"rev-parse", r.culprit + "~1"});
  EXPECT_NE(res.output.find(broken.substr(0, 40)), std::string::npos) << res.output;
}

}  // namespace
}  // namespace rb
