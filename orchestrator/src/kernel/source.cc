#include "kernel/source.h"

#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb::kernel {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool is_tarball(const fs::path& p) {
  const std::string s = p.filename().string();
  for (const char* ext : {".tar", ".tar.xz", ".tar.gz", ".tgz", ".tar.bz2"})
    if (s.size() > strlen(ext) && s.ends_with(ext)) return true;
  return false;
}

// Deterministic author/committer so imported trees get the same commit ids.
const std::map<std::string, std::string> kGitEnv = {
    {"GIT_AUTHOR_NAME", "racebisect"},       {"GIT_AUTHOR_EMAIL", "racebisect@localhost"},
    {"GIT_COMMITTER_NAME", "racebisect"},    {"GIT_COMMITTER_EMAIL", "racebisect@localhost"},
    {"GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z"}, {"GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z"},
};

}  // namespace

std::string git(const fs::path& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run_process(argv, ProcessOptions{.cwd = {}, .output = {}, .env = kGitEnv});
  if (r.exit_code != 0) throw usage_error("git " + args.front() + " failed in " + dir.string() + ": " + trim(r.output));
  return trim(r.output);
}

Workspace::Workspace(const SourceSpec& spec, const fs::path& cache) {
  if (!fs::exists(spec.path)) throw usage_error("kernel source not found: " + spec.path.string());
  if (is_tarball(spec.path)) {
    // Import once: extract, `git add -f` everything (Debian's tarball ships a
    // .gitignore ending in "/*" that would otherwise hide the whole tree).
    const std::string sha = sha256_file(spec.path);
    identity_ = "tarball:" + sha;
    id_ = "tar-" + sha.substr(0, 16);
    fs::path root = cache / "src" / id_;
    tree_ = root / "tree";
    FileLock lock(cache / "src" / (id_ + ".lock"));
    if (!fs::exists(root / "imported")) {
      spdlog::info("importing {} into a git work tree (once per tarball)", spec.path.string());
      TempDir tmp(cache / "src", id_ + ".import");
      run_checked({"tar", "-xf", fs::absolute(spec.path).string(), "-C", tmp.path().string(), "--strip-components=1"});
      git(tmp.path(), {"init", "-q"});
      git(tmp.path(), {"config", "core.autocrlf", "false"});
      git(tmp.path(), {"config", "gc.auto", "0"});
      git(tmp.path(), {"add", "-f", "-A", "."});
      git(tmp.path(), {"commit", "-q", "--no-verify", "-m", "import " + spec.path.filename().string()});
      fs::create_directories(root);
      fs::remove_all(tree_);
      fs::rename(tmp.path(), tree_);
      // TempDir would delete the now-missing path: harmless (remove_all ignores it).
      write_file_atomic(root / "imported", sha + "\n");
    }
    commit_ = git(tree_, {"rev-parse", "HEAD"});
    return;
  }
  // A git repository: verify the commit, then use a private worktree so the
  // user's checkout (and an ongoing `git bisect`) is never disturbed.
  fs::path repo;
  try {
    repo = git(spec.path, {"rev-parse", "--show-toplevel"});
  } catch (const Error&) {
    throw usage_error("not a kernel tarball or git repository: " + spec.path.string());
  }
  const std::string want = spec.commit.empty() ? "HEAD" : spec.commit;
  RunResult r = run_process({"git", "-C", repo.string(), "rev-parse", "--verify", "--quiet", want + "^{commit}"});
  if (r.exit_code != 0) throw usage_error("unknown commit '" + want + "' in " + repo.string());
  commit_ = trim(r.output);
  identity_ = "git:" + commit_;
  id_ = "git-" + sha256_hex(fs::canonical(repo).string()).substr(0, 16);
  tree_ = cache / "worktrees" / id_;
  FileLock lock(cache / "worktrees" / (id_ + ".lock"));
  // A worktree left from a repository that was since deleted and recreated
  // at the same path points at a .git that no longer knows it: start over.
  auto common_dir = [](const fs::path& dir) {
    RunResult r = run_process({"git", "-C", dir.string(), "rev-parse", "--path-format=absolute", "--git-common-dir"});
    return r.exit_code == 0 ? trim(r.output) : std::string();
  };
  if (fs::exists(tree_) && common_dir(tree_) != common_dir(repo)) fs::remove_all(tree_);
  if (!fs::exists(tree_ / ".git")) {
    fs::create_directories(tree_.parent_path());
    git(repo, {"worktree", "prune"});
    git(repo, {"worktree", "add", "--detach", "--force", tree_.string(), commit_});
  }
}

void Workspace::checkout(const std::vector<fs::path>& patches) const {
  git(tree_, {"checkout", "-q", "-f", "--detach", commit_});
  git(tree_, {"clean", "-q", "-f", "-d"});
  for (const auto& p : patches) {
    if (!fs::exists(p)) throw usage_error("patch not found: " + p.string());
    RunResult r = run_process({"git", "-C", tree_.string(), "apply", "--whitespace=nowarn", fs::absolute(p).string()});
    if (r.exit_code != 0)
      throw usage_error("patch does not apply: " + p.string() + " on " + identity_ + "\n" + trim(r.output));
  }
}

}  // namespace rb::kernel
