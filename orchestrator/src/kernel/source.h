// Kernel source trees. Every source -- a release tarball or a commit of a git
// repository -- is materialised as a git work tree that racebisect owns, so
// patches apply with `git apply` and are undone by `git checkout -f`. Only
// files that really change get a new mtime, which is what keeps kernel
// rebuilds between bisect steps and patch sets incremental.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace rb::kernel {

struct SourceSpec {
  // A .tar/.tar.xz/.tar.gz file, or a directory inside a git repository.
  std::filesystem::path path;
  // For git sources: any commit-ish (empty = HEAD). Ignored for tarballs.
  std::string commit;
};

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
  // A short, path-safe name for per-workspace state (build dirs, locks).
  const std::string& id() const { return id_; }

  // Checks out the source commit (discarding any previous patches) and
  // applies `patches` in order. A patch that does not apply is an
  // rb::Error(Usage) naming the patch and quoting git's reason.
  void checkout(const std::vector<std::filesystem::path>& patches) const;

 private:
  std::string identity_, commit_, id_;
  std::filesystem::path tree_;
};

// Runs git with argv in `dir`, returns trimmed stdout; throws with stderr.
std::string git(const std::filesystem::path& dir, const std::vector<std::string>& args);

}  // namespace rb::kernel
