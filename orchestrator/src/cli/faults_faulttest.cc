// Fault tests: the real racebisect binary with stand-in qemu-system-x86_64
// and make (orchestrator/testdata/fakes) first on PATH, and signals or kills
// delivered at chosen points (mid-build, mid-boot). They check that something
// happens at all -- an exit code, no stand-in left alive, a reusable cache --
// never how fast: every wait is bounded by kBound, far above the 2 s goal,
// and the speeds are measured by scripts/fault-soak instead.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb {
namespace {

using namespace std::chrono_literals;
constexpr auto kBound = 60s;

template <class Pred>
bool eventually(Pred pred, std::chrono::seconds bound = kBound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// /proc files report size 0: read them as a stream, never by size.
std::string proc_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Alive = exists and is not a zombie.
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "rb-fault");
    root_ = dir_->path();
    fs::create_directories(pids_dir());
    make_tarball();
  }
  void TearDown() override {
    for (auto& [pid, role] : fakes_alive()) ::kill(pid, SIGKILL);  // never leak into the next test
    runs_.clear();
  }

  // A git source with one commit (version.txt "clean").
  fs::path git_repo() const {
    const fs::path repo = root_ / "repo";
    fs::create_directories(repo);
    run_checked({"git", "-C", repo.string(), "init", "-q"});
    write_file_atomic(repo / "version.txt", "clean\n");
    run_checked({"git", "-C", repo.string(), "add", "."});
    run_checked({"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"});
    return repo;
  }

  fs::path pids_dir() const { return root_ / "pids"; }
  fs::path cache() const { return root_ / "cache"; }

  // A kernel "source" the fake make can build: version.txt ends up in the
  // image, and bug.patch turns it into a kernel the fake QEMU fails on.
  void make_tarball() {
    const fs::path src = root_ / "src" / "linux-fake";
    fs::create_directories(src);
    write_file_atomic(src / "Makefile", "all:\n");
    write_file_atomic(src / "version.txt", "clean\n");
    run_checked({"tar", "-czf", tarball().string(), "-C", (root_ / "src").string(), "linux-fake"});
    write_file_atomic(root_ / "bug.patch",
                      "--- a/version.txt\n+++ b/version.txt\n@@ -1 +1 @@\n-clean\n+BUG\n");
  }
  fs::path tarball() const { return root_ / "linux-fake.tar.gz"; }

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> e{
        {"PATH", std::string(RB_FAKES_DIR) + ":" + std::getenv("PATH")},
        {"RACEBISECT_CACHE", cache().string()},
        {"FAKE_PIDS", pids_dir().string()},
        {"FAKE_MAKE_S", "0"},
        {"FAKE_TRIAL_S", "0.1"},
    };
    for (auto& [k, v] : extra) e[k] = v;
    return e;
  }

  std::vector<std::string> reproduce_args(const std::string& bundle = "bundle") const {
    return {"reproduce", "--source", tarball().string(), "--kernel", "unpatched,bug," + (root_ / "bug.patch").string(),
            "--kernel", "patched,fixed", "--boots", "1", "--trials", "10", "--duration-ms", "100", "--fixed-factor",
            "1", "--accel", "tcg", "--jobs", "1", "--out", (root_ / bundle).string()};
  }
  std::vector<std::string> build_args() const {
    return {"build", "--source", tarball().string(), "--only", "patched"};
  }

  struct Run {
    std::unique_ptr<Process> p;
    fs::path log;
  };
  Run& start(std::vector<std::string> args, std::map<std::string, std::string> extra_env = {}) {
    args.insert(args.begin(), RB_BINARY);
    Run r;
    r.log = root_ / ("run-" + std::to_string(runs_.size()) + ".log");
    r.p = std::make_unique<Process>(args, ProcessOptions{.cwd = root_, .output = r.log, .env = env(extra_env)});
    runs_.push_back(std::move(r));
    return runs_.back();
  }
  // Exit code, or -1 if it did not end within kBound.
  static int finish(Run& r, std::chrono::seconds bound = kBound) {
    auto code = r.p->wait_for(bound);
    if (!code) {
      r.p->kill();
      r.p->wait();
      return -1;
    }
    return *code;
  }
  int run(std::vector<std::string> args, std::map<std::string, std::string> extra_env = {}) {
    return finish(start(std::move(args), std::move(extra_env)));
  }
  static std::string log_of(const Run& r) { return read_tail(r.log, 20000); }

  // Stand-ins (by pid) still alive, with their role: qemu, make, cc.
  std::map<pid_t, std::string> fakes_alive() const {
    std::map<pid_t, std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(pids_dir(), ec)) {
      const pid_t pid = std::stoi(e.path().filename().string());
      if (!alive(pid)) continue;
      // The pid may have been reused: only count processes with our marker.
      const std::string env = proc_file("/proc/" + std::to_string(pid) + "/environ");
      if (env.find("FAKE_PIDS=" + pids_dir().string()) == std::string::npos) continue;
      std::string role = read_file(e.path());
      role.erase(role.find_last_not_of('\n') + 1);
      out[pid] = role;
    }
    return out;
  }
  bool fake_running(const std::string& role) const {
    for (auto& [pid, r] : fakes_alive())
      if (r == role) return true;
    return false;
  }
  std::string describe_alive() const {
    std::string s;
    for (auto& [pid, r] : fakes_alive()) s += r + "(" + std::to_string(pid) + ") ";
    return s;
  }

  std::unique_ptr<TempDir> dir_;
  fs::path root_;
  std::deque<Run> runs_;  // start() hands out references: they must stay valid
};

// ---- signals: exit code, and nothing left behind ----

enum class Phase { Build, Boot };
struct SignalCase {
  const char* name;
  std::vector<int> signals;  // delivered back to back to racebisect's process group
  int exit_code;             // -1: killed (no exit code of its own)
  Phase phase;
};

void PrintTo(const SignalCase& c, std::ostream* os) { *os << c.name; }

class SignalFaults : public Faults, public ::testing::WithParamInterface<SignalCase> {};

TEST_P(SignalFaults, ExitCodeAndNoStandInSurvives) {
  const SignalCase& c = GetParam();
  // A build that never ends by itself, or a guest that never prints.
  auto& r = start(reproduce_args(), c.phase == Phase::Build ? std::map<std::string, std::string>{{"FAKE_MAKE", "hang"}}
                                                            : std::map<std::string, std::string>{{"FAKE_QEMU", "silent"}});
  const std::string waited = c.phase == Phase::Build ? "cc" : "qemu";
  ASSERT_TRUE(eventually([&] { return fake_running(waited); })) << "no " << waited << " started:\n" << log_of(r);
  for (int sig : c.signals) ::kill(-r.p->pid(), sig);
  const int code = finish(r);
  if (c.exit_code >= 0) {
    EXPECT_EQ(code, c.exit_code) << log_of(r);
  }
  EXPECT_TRUE(eventually([&] { return fakes_alive().empty(); })) << "still alive: " << describe_alive();
}

INSTANTIATE_TEST_SUITE_P(
    All, SignalFaults,
    ::testing::Values(SignalCase{"SigintMidBuild", {SIGINT}, 130, Phase::Build},
                      SignalCase{"SigintSilentGuest", {SIGINT}, 130, Phase::Boot},
                      SignalCase{"TwoSigintsMidBuild", {SIGINT, SIGINT}, 130, Phase::Build},
                      SignalCase{"TwoSigintsSilentGuest", {SIGINT, SIGINT}, 130, Phase::Boot},
                      SignalCase{"SigtermMidBuild", {SIGTERM}, 143, Phase::Build},
                      SignalCase{"SigtermSilentGuest", {SIGTERM}, 143, Phase::Boot},
                      SignalCase{"SighupMidBuild", {SIGHUP}, 129, Phase::Build},
                      SignalCase{"SighupSilentGuest", {SIGHUP}, 129, Phase::Boot},
                      SignalCase{"KillMidBuild", {SIGKILL}, -1, Phase::Build},
                      SignalCase{"KillSilentGuest", {SIGKILL}, -1, Phase::Boot}),
    [](const auto& info) { return std::string(info.param.name); });

// `boot` with a guest that prints nothing: Ctrl-C ends it as interrupted
// (not as a boot failure once the no-output timeout hits).
TEST_F(Faults, BootCommandSigintWithSilentGuestIsInterrupted) {
  const fs::path kernel = root_ / "bzImage";
  write_file_atomic(kernel, "fake kernel\n");
  auto& r = start({"boot", "--kernel", kernel.string(), "--accel", "tcg", "--out", (root_ / "boot").string(),
                   "--no-output-timeout", "600", "--timeout", "1200"},
                  {{"FAKE_QEMU", "silent"}});
  ASSERT_TRUE(eventually([&] { return fake_running("qemu"); })) << log_of(r);
  ::kill(-r.p->pid(), SIGINT);
  EXPECT_EQ(finish(r), 130) << log_of(r);
  EXPECT_TRUE(eventually([&] { return fakes_alive().empty(); })) << describe_alive();
}

// ---- the next run after a kill: no manual cleanup, reuses what was built ----

TEST_F(Faults, RunAfterKillMidBootReusesBothKernels) {
  auto& r = start(reproduce_args("b1"), {{"FAKE_QEMU", "silent"}});
  ASSERT_TRUE(eventually([&] { return fake_running("qemu"); })) << log_of(r);
  ::kill(r.p->pid(), SIGKILL);
  finish(r);
  const fs::path makelog = root_ / "make.log";
  auto& again = start(reproduce_args("b2"), {{"FAKE_MAKE_LOG", makelog.string()}});
  EXPECT_EQ(finish(again), 0) << log_of(again);  // the bug kernel fails, the fixed one passes
  EXPECT_FALSE(fs::exists(makelog)) << "rebuilt a kernel that was already built:\n" << read_file(makelog);
  auto j = nlohmann::json::parse(read_file(root_ / "b2" / "results.json"));
  EXPECT_EQ(j["kernels"].size(), 2u);
}

TEST_F(Faults, RunAfterKillMidBuildSucceedsAndLeavesNoPartialDirectory) {
  auto& r = start(build_args(), {{"FAKE_MAKE", "hang"}});
  ASSERT_TRUE(eventually([&] { return fake_running("cc"); })) << log_of(r);
  ::kill(r.p->pid(), SIGKILL);
  finish(r);
  EXPECT_TRUE(eventually([&] { return fakes_alive().empty(); })) << describe_alive();
  auto& again = start(build_args());
  ASSERT_EQ(finish(again), 0) << log_of(again);
  for (const auto& e : fs::directory_iterator(cache() / "kernels"))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << "stale " << e.path();
}

// ---- the cache ----

TEST_F(Faults, TwoProcessesBuildTheSameKernelOnce) {
  const fs::path makelog = root_ / "make.log";
  const std::map<std::string, std::string> slow{{"FAKE_MAKE_S", "2"}, {"FAKE_MAKE_LOG", makelog.string()}};
  auto& a = start(build_args(), slow);
  auto& b = start(build_args(), slow);
  EXPECT_EQ(finish(a), 0) << log_of(a);
  EXPECT_EQ(finish(b), 0) << log_of(b);
  std::ifstream in(makelog);
  int builds = 0;
  for (std::string line; std::getline(in, line);) ++builds;
  EXPECT_EQ(builds, 1) << read_file(makelog);
}

fs::path only_entry(const fs::path& kernels) {
  fs::path found;
  for (const auto& e : fs::directory_iterator(kernels))
    if (fs::exists(e.path() / "meta.json")) found = e.path();
  return found;
}

TEST_F(Faults, CorruptImageIsQuarantinedAndRebuilt) {
  ASSERT_EQ(run(build_args()), 0);
  const fs::path entry = only_entry(cache() / "kernels");
  ASSERT_FALSE(entry.empty());
  std::string img = read_file(entry / "bzImage");
  img[img.size() / 2] ^= 0x55;
  {
    std::ofstream out(entry / "bzImage", std::ios::binary | std::ios::trunc);
    out << img;
  }
  auto& r = start(build_args());
  ASSERT_EQ(finish(r), 0) << log_of(r);
  EXPECT_NE(log_of(r).find("\tbuilt\t"), std::string::npos) << "a corrupt image was served:\n" << log_of(r);
  auto meta = nlohmann::json::parse(read_file(entry / "meta.json"));
  EXPECT_EQ(meta["bzimage_sha256"], sha256_file(entry / "bzImage"));
}

TEST_F(Faults, TruncatedMetaIsRebuiltNotFatal) {
  ASSERT_EQ(run(build_args()), 0);
  const fs::path entry = only_entry(cache() / "kernels");
  ASSERT_FALSE(entry.empty());
  const std::string meta = read_file(entry / "meta.json");
  {
    std::ofstream out(entry / "meta.json", std::ios::trunc);
    out << meta.substr(0, meta.size() / 2);
  }
  auto& r = start(build_args());
  EXPECT_EQ(finish(r), 0) << log_of(r);
  EXPECT_NO_THROW(nlohmann::json::parse(read_file(entry / "meta.json")));
}

// A git source whose private work tree was left with an index.lock by a
// killed git: the next run recovers (it is our work tree, under our lock).
TEST_F(Faults, StaleWorktreeIndexLockIsRecovered) {
  const fs::path repo = git_repo();
  const std::vector<std::string> args{"build", "--source", repo.string(), "--only", "patched"};
  ASSERT_EQ(run(args), 0);
  fs::path lock;
  for (const auto& e : fs::recursive_directory_iterator(repo / ".git" / "worktrees"))
    if (e.path().filename() == "index") lock = e.path().parent_path() / "index.lock";
  ASSERT_FALSE(lock.empty());
  write_file_atomic(lock, "");
  write_file_atomic(repo / "version.txt", "changed\n");  // a new commit, so the tree is checked out again
  run_checked({"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "y"});
  auto& r = start(args);
  EXPECT_EQ(finish(r), 0) << log_of(r);
}

// Git breaking is not bad input: a corrupt object store is exit 3.
TEST_F(Faults, BrokenGitIsInfrastructureNotUsage) {
  const fs::path repo = git_repo();
  // Empty every blob/tree object file: the commit id still resolves, the checkout cannot work.
  const std::string tree = run_checked({"git", "-C", repo.string(), "rev-parse", "HEAD^{tree}"});
  const fs::path obj = repo / ".git" / "objects" / tree.substr(0, 2) / tree.substr(2, 38);
  fs::permissions(obj, fs::perms::owner_all);
  { std::ofstream truncate(obj, std::ios::trunc); }
  auto& r = start({"build", "--source", repo.string(), "--only", "patched"});
  EXPECT_EQ(finish(r), 3) << log_of(r);
  auto& unknown = start({"build", "--source", repo.string(), "--commit", "0123456789abcdef", "--only", "patched"});
  EXPECT_EQ(finish(unknown), 2) << log_of(unknown);
}

// ---- locks ----

// A second run waiting for the build lock says what it waits for and who
// holds it, and a SIGTERM ends the wait.
TEST_F(Faults, LockWaitNamesTheHolderAndHonoursSigterm) {
  auto& holder = start(build_args(), {{"FAKE_MAKE", "hang"}});
  ASSERT_TRUE(eventually([&] { return fake_running("cc"); })) << log_of(holder);
  auto& waiter = start(build_args());
  ASSERT_TRUE(eventually([&] { return log_of(waiter).find("waiting for") != std::string::npos; }))
      << "no message while waiting for the lock:\n" << log_of(waiter);
  const std::string log = log_of(waiter);
  EXPECT_NE(log.find("pid " + std::to_string(holder.p->pid())), std::string::npos) << log;
  ::kill(waiter.p->pid(), SIGTERM);
  EXPECT_EQ(finish(waiter), 143) << log_of(waiter);
  ::kill(holder.p->pid(), SIGTERM);
  EXPECT_EQ(finish(holder), 143) << log_of(holder);
}

// ---- a full disk ----

// The cache on a 1 MiB tmpfs (root only): the run fails as infrastructure,
// and what is in the cache afterwards is complete or absent.
TEST_F(Faults, FullDiskFailsCleanly) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  fs::create_directories(cache());
  ASSERT_EQ(::mount("tmpfs", cache().c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{cache()};
  auto& r = start(reproduce_args(), {{"FAKE_BZIMAGE_PAD", "600000"}});
  const int code = finish(r);
  EXPECT_EQ(code, 3) << log_of(r);
  EXPECT_NE(log_of(r).find(cache().string()), std::string::npos) << "the error does not name the path:\n" << log_of(r);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache() / "kernels", ec)) {
    const std::string name = e.path().filename().string();
    if (!fs::is_directory(e.path()) || name.find(".partial.") != std::string::npos) continue;
    ASSERT_TRUE(fs::exists(e.path() / "meta.json")) << "an entry without meta.json: " << e.path();
    const auto meta = nlohmann::json::parse(read_file(e.path() / "meta.json"));
    EXPECT_EQ(meta["bzimage_sha256"], sha256_file(e.path() / "bzImage")) << e.path();
  }
  if (fs::exists(root_ / "bundle" / "results.json")) {
    EXPECT_NO_THROW(nlohmann::json::parse(read_file(root_ / "bundle" / "results.json")));
  }
}

}  // namespace
}  // namespace rb
