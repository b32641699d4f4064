#include "kernel/build.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "testing/scoped_env.h"

namespace rb::kernel {
namespace {

// A real git repository with two commits stands in for a kernel tree: the
// key logic and the work tree handling do not care what the files are.
class BuildKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "buildkey");
    repo_ = dir_->path() / "repo";
    fs::create_directories(repo_);
    run_checked({"git", "-C", repo_.string(), "init", "-q"});
    write_file_atomic(repo_ / "file.c", "int x;\n");
    commit("one");
    first_ = git(repo_, {"rev-parse", "HEAD"});
    write_file_atomic(repo_ / "file.c", "int x;\nint y;\n");
    commit("two");
    write_file_atomic(dir_->path() / "a.config", "CONFIG_A=y\n");
    write_file_atomic(dir_->path() / "p.patch",
                      "--- a/file.c\n+++ b/file.c\n@@ -1,2 +1,2 @@\n int x;\n-int y;\n+int z;\n");
  }
  void commit(const std::string& msg) {
    run_checked({"git", "-C", repo_.string(), "add", "."});
    run_checked({"git", "-C", repo_.string(), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", msg});
  }
  KernelSpec spec(const std::string& commit = "") {
    return KernelSpec{"k", {repo_, commit}, {}, {dir_->path() / "a.config"}, "tinyconfig"};
  }
  std::unique_ptr<TempDir> dir_;
  fs::path repo_;
  std::string first_;
};

TEST_F(BuildKeyTest, KeyDependsOnEveryInputAndNothingElse) {
  Builder b(dir_->path() / "cache");
  Workspace head(spec().source, dir_->path() / "cache");
  Workspace one(spec(first_).source, dir_->path() / "cache");
  const std::string k = b.cache_key(spec(), head);
  EXPECT_EQ(k, b.cache_key(spec(), head));  // stable
  EXPECT_NE(k, b.cache_key(spec(first_), one));  // source identity
  auto with_patch = spec();
  with_patch.patches.push_back(dir_->path() / "p.patch");
  EXPECT_NE(k, b.cache_key(with_patch, head));  // patch bytes
  const std::string kp = b.cache_key(with_patch, head);
  write_file_atomic(dir_->path() / "p.patch", read_file(dir_->path() / "p.patch") + "\n");
  EXPECT_NE(kp, b.cache_key(with_patch, head));  // patch bytes, same path
  write_file_atomic(dir_->path() / "a.config", "CONFIG_A=y\nCONFIG_B=y\n");
  EXPECT_NE(k, b.cache_key(spec(), head));  // fragment bytes
  auto other_base = spec();
  other_base.base = "defconfig";
  EXPECT_NE(b.cache_key(spec(), head), b.cache_key(other_base, head));
}

TEST_F(BuildKeyTest, WorkspaceChecksOutAppliesAndResetsPatches) {
  Workspace ws(spec().source, dir_->path() / "cache");
  EXPECT_EQ(ws.identity(), "git:" + git(repo_, {"rev-parse", "HEAD"}));
  ws.checkout({dir_->path() / "p.patch"});
  EXPECT_EQ(read_file(ws.tree() / "file.c"), "int x;\nint z;\n");
  ws.checkout({});
  EXPECT_EQ(read_file(ws.tree() / "file.c"), "int x;\nint y;\n");
  // The user's own checkout is untouched.
  EXPECT_EQ(read_file(repo_ / "file.c"), "int x;\nint y;\n");
}

TEST_F(BuildKeyTest, BadInputIsASpecificUsageError) {
  try {
    Workspace ws(spec("deadbeef").source, dir_->path() / "cache");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("unknown commit 'deadbeef'"), std::string::npos) << e.what();
  }
  Workspace ws(spec(first_).source, dir_->path() / "cache");
  try {
    ws.checkout({dir_->path() / "p.patch"});  // "int y" does not exist at the first commit
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("patch does not apply"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Workspace({dir_->path() / "missing.tar.xz", ""}, dir_->path() / "cache"), Error);
}


TEST_F(BuildKeyTest, RepositoryRecreatedAtTheSamePathGetsAFreshWorktree) {
  { Workspace ws(spec().source, dir_->path() / "cache"); }
  fs::remove_all(repo_);
  fs::create_directories(repo_);
  run_checked({"git", "-C", repo_.string(), "init", "-q"});
  write_file_atomic(repo_ / "file.c", "int fresh;\n");
  commit("fresh");
  Workspace ws(spec().source, dir_->path() / "cache");
  ws.checkout({});
  EXPECT_EQ(read_file(ws.tree() / "file.c"), "int fresh;\n");
}

using rb::testing::ScopedEnv;

// A make that never finishes ends as an infrastructure error naming the
// step, and its whole process group (the fake compilers too) is gone.
TEST_F(BuildKeyTest, HungMakeTimesOutNamingTheStep) {
  ScopedEnv path("PATH", std::string(RB_TESTDATA_DIR) + "/fakes:" + std::getenv("PATH"));
  ScopedEnv mode("FAKE_MAKE", "hang");
  ScopedEnv pids("FAKE_PIDS", (dir_->path() / "pids").string());
  fs::create_directories(dir_->path() / "pids");
  Builder b(dir_->path() / "cache", 1, BuildLimits{.config = std::chrono::seconds(60), .build = std::chrono::seconds(1)});
  try {
    b.build(spec());
    FAIL() << "a hung make did not time out";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    EXPECT_NE(std::string(e.what()).find("kernel build timed out after 1 s"), std::string::npos) << e.what();
  }
  // SIGKILL is delivered asynchronously: wait (bounded) for each to die.
  auto dead = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    return line.empty() || line.find(") Z") != std::string::npos;
  };
  for (const auto& e : fs::directory_iterator(dir_->path() / "pids")) {
    const pid_t pid = std::stoi(e.path().filename().string());
    for (int i = 0; i < 600 && !dead(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(dead(pid)) << read_file(e.path()) << " " << pid << " survived the timeout";
  }
}

TEST(InterruptedOutputs, OutputNewerThanItsRecordIsRemoved) {
  TempDir d(fs::temp_directory_path(), "rb-kbuild");
  const auto t = fs::file_time_type::clock::now() - std::chrono::hours(1);
  auto make = [&](const fs::path& p, int minutes) {
    fs::create_directories(p.parent_path());
    write_file_atomic(p, "x");
    fs::last_write_time(p, t + std::chrono::minutes(minutes));
  };
  make(d.path() / "mm/.hugetlb.o.cmd", 0);
  make(d.path() / "mm/hugetlb.o", 5);   // written after its record: cut short
  make(d.path() / "kernel/fork.o", 0);
  make(d.path() / "kernel/.fork.o.cmd", 5);  // complete
  make(d.path() / "lib/new.o", 5);           // no record yet: kbuild rebuilds it anyway
  EXPECT_EQ(remove_interrupted_outputs(d.path()), 1);
  EXPECT_FALSE(fs::exists(d.path() / "mm/hugetlb.o"));
  EXPECT_TRUE(fs::exists(d.path() / "kernel/fork.o"));
  EXPECT_TRUE(fs::exists(d.path() / "lib/new.o"));
}

TEST_F(BuildKeyTest, UnknownCommitIsUsageButNotARepositoryIsToo) {
  EXPECT_THROW(git_toplevel(dir_->path() / "missing"), Error);
  try {
    git_toplevel(fs::temp_directory_path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
  }
  EXPECT_EQ(git_toplevel(repo_ / "."), fs::canonical(repo_));
}

// A bare mirror is bisected with `git bisect start --no-checkout`: the
// repository is the git dir itself and the commit under test BISECT_HEAD.
TEST_F(BuildKeyTest, BareMirrorAndNoCheckoutBisectionTestBisectHead) {
  const std::string second = git(repo_, {"rev-parse", "HEAD"});
  EXPECT_EQ(commit_under_test(repo_), second);  // an ordinary checkout: HEAD
  const fs::path bare = dir_->path() / "mirror.git";
  run_checked({"git", "clone", "-q", "--bare", repo_.string(), bare.string()});
  EXPECT_EQ(git_toplevel(bare), fs::canonical(bare));
  EXPECT_EQ(commit_under_test(bare), second);
  run_checked({"git", "-C", bare.string(), "bisect", "start", second, first_});
  {
    // What `git bisect run` exports to bisect-step in a bare repository.
    testing::ScopedEnv dir("GIT_DIR", "."), implicit("GIT_IMPLICIT_WORK_TREE", "0");
    EXPECT_EQ(git_toplevel(bare), fs::canonical(bare));
    EXPECT_EQ(commit_under_test(bare), git(bare, {"rev-parse", "BISECT_HEAD"}));
    Workspace ws({bare, ""}, dir_->path() / "cache");
    ws.checkout({});
    EXPECT_EQ(read_file(ws.tree() / "file.c"), "int x;\nint y;\n");
  }
  run_checked({"git", "-C", repo_.string(), "bisect", "start", "--no-checkout", second, first_});
  EXPECT_EQ(git(repo_, {"rev-parse", "HEAD"}), second);  // nothing checked out
  EXPECT_EQ(commit_under_test(repo_), git(repo_, {"rev-parse", "BISECT_HEAD"}));
  Workspace ws({bare, first_}, dir_->path() / "cache");  // any commit of the mirror
  ws.checkout({});
  EXPECT_EQ(read_file(ws.tree() / "file.c"), "int x;\n");
}

// `racebisect boot --kernel` takes a path: a kernel in the cache's layout
// tells its HZ through the config beside it, one from elsewhere nothing.
TEST(CachedKernelHz, ReadsTheConfigBesideACachedBzImageOnly) {
  TempDir dir(fs::temp_directory_path(), "rb-kernel-hz");
  struct Row {
    std::string image_name;
    std::optional<std::string> config;
    std::optional<int> hz;
  };
  const Row rows[] = {
      {"bzImage", "CONFIG_HZ=250\n", 250},
      {"bzImage", "CONFIG_SMP=y\n", std::nullopt},
      {"bzImage", std::nullopt, std::nullopt},                      // no config beside it
      {"vmlinuz-6.1.0-56-amd64", "CONFIG_HZ=250\n", std::nullopt},  // not the cache's layout
  };
  int i = 0;
  for (const auto& r : rows) {
    const fs::path d = dir.path() / std::to_string(i++);
    fs::create_directories(d);
    write_file_atomic(d / r.image_name, "kernel");
    if (r.config) write_file_atomic(d / "config", *r.config);
    EXPECT_EQ(cached_kernel_hz(d / r.image_name), r.hz) << d / r.image_name;
  }
}

}  // namespace
}  // namespace rb::kernel
