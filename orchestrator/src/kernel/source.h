// Kernel source trees. Every source -- a release tarball or a commit of a git
// repository -- is materialised as a git work tree that racebisect owns, so
// patches apply with `git apply` and are undone by `git checkout -f`. Only
// files that really change get a new mtime, which is what keeps kernel
// rebuilds between bisect steps and patch sets incremental.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "util/process.h"

namespace rb::kernel {

struct SourceSpec {
  // A .tar/.tar.xz/.tar.gz file, or a directory inside a git repository.
  std::filesystem::path path;
  // For git sources: any commit-ish (empty = HEAD). Ignored for tarballs.
  std::string commit;
};

// Kernel build directories sit in the work tree under this prefix (why:
// kernel/build.cc); checkout() keeps them.
inline constexpr const char* kBuildDirPrefix = ".racebisect-build-";

class Workspace {
 public:
  // Resolves the source (verifying the commit exists) and prepares its work
  // tree under `cache`. Throws rb::Error(Usage) for a missing tarball or an
  // unknown commit, with the exact problem in the message.
  Workspace(const SourceSpec& spec, const std::filesystem::path& cache);

  // Stable identity of the exact source contents: "tarball:<sha256>" or
  // "git:<commit sha>". Part of every build cache key.
  const std::string& identity() const { return identity_; }
  const std::filesystem::path& tree() const { return tree_; }
  const std::string& commit() const { return commit_; }  // resolved sha in tree()
  // A short, path-safe name for per-workspace state (locks).
  const std::string& id() const { return id_; }
  // The lock every writer of tree() holds (setting it up, checkouts, builds).
  std::filesystem::path lock_path() const;

  // Checks out the source commit (discarding any previous patches) and
  // applies `patches` in order. A patch that does not apply is an
  // rb::Error(Usage) naming the patch and quoting git's reason. Call with
  // lock_path() held: a git index.lock found then was left by a killed git
  // and is removed.
  void checkout(const std::vector<std::filesystem::path>& patches) const;

 private:
  void import_tarball(const SourceSpec& spec, const std::filesystem::path& cache);
  void attach_worktree(const SourceSpec& spec, const std::filesystem::path& cache);

  std::string identity_, commit_, id_;
  std::filesystem::path tree_, cache_;
};

// Runs git with `args` in `dir` -- C locale, fixed identity and dates, git's
// repository-locating variables (GIT_DIR...) removed, bounded by a timeout
// (rb::Error, infra) -- and returns its exit code and output.
RunResult run_git(const std::filesystem::path& dir, const std::vector<std::string>& args);

// Runs git with argv in `dir` (as run_git, bounded by a timeout), returns
// trimmed stdout. A failure is rb::Error(Infrastructure) quoting git: callers
// that can tell bad input (an unknown commit, not a repository) check for it
// first and say so as a usage error.
std::string git(const std::filesystem::path& dir, const std::vector<std::string>& args);

// The repository containing `path`: the top level of its work tree, or the
// repository itself if it is bare (a mirror). rb::Error(Usage) if `path` is
// not in one, (Infrastructure) if git itself fails.
std::filesystem::path git_toplevel(const std::filesystem::path& path);

// The commit a bisection step tests in `repo`: BISECT_HEAD while
// `git bisect start --no-checkout` runs (always so in a bare repository,
// where nothing is checked out), else HEAD.
std::string commit_under_test(const std::filesystem::path& repo);

}  // namespace rb::kernel
