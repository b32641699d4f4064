#include "kernel/build.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

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

}  // namespace
}  // namespace rb::kernel
