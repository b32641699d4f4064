#include "kernel/source.h"

#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb::kernel {

namespace {

// Generous: importing a kernel tree (`git add -A`, `worktree add`) takes
// about a minute here; these only end a git or tar that hangs.
constexpr std::chrono::seconds kGitTimeout{std::chrono::hours(1)};
constexpr std::chrono::seconds kTarTimeout{std::chrono::hours(1)};
constexpr std::chrono::seconds kLockTimeout{std::chrono::hours(4)};
// Disk a kernel tree takes, measured: linux-source-6.12 (152 MB of .tar.xz)
// unpacks to 1.7 GB and packs to 0.27 GB (ratio 13); a git worktree of 6.1
// takes 1.5 GB. Checked before starting, so a full disk is one clear
// message instead of thousands of tar or git errors.
constexpr uintmax_t kImportPerTarballByte = 14;
constexpr uintmax_t kWorktreeBytes = 2ull << 30;

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

// Deterministic author/committer so imported trees get the same commit ids;
// the C locale so git's messages are the ones we look for.
const std::map<std::string, std::string> kGitEnv = {
    {"GIT_AUTHOR_NAME", "racebisect"},       {"GIT_AUTHOR_EMAIL", "racebisect@localhost"},
    {"GIT_COMMITTER_NAME", "racebisect"},    {"GIT_COMMITTER_EMAIL", "racebisect@localhost"},
    {"GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z"}, {"GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z"},
    {"LC_ALL", "C"},
};

// Variables that tell git which repository to use. `git bisect run` in a
// bare repository exports GIT_DIR=. (and a hook may export others); they
// would override every -C below and point git at the wrong repository.
const std::vector<std::string> kGitLocationEnv = {
    "GIT_DIR",         "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",         "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",   "GIT_PREFIX",    "GIT_IMPLICIT_WORK_TREE", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
};

}  // namespace

RunResult run_git(const fs::path& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run_process(
      argv, ProcessOptions{.cwd = {}, .output = {}, .env = kGitEnv, .what = join_argv(argv), .unset = kGitLocationEnv},
      kGitTimeout);
  if (r.timed_out) throw infra_error(join_argv(argv) + " timed out after " + std::to_string(kGitTimeout.count()) + " s");
  return r;
}

std::string git(const fs::path& dir, const std::vector<std::string>& args) {
  RunResult r = run_git(dir, args);
  if (r.exit_code != 0)
    throw infra_error("git " + args.front() + " failed in " + dir.string() + ": " + trim(r.output));
  return trim(r.output);
}

fs::path git_toplevel(const fs::path& path) {
  RunResult r = run_git(path, {"rev-parse", "--is-bare-repository"});
  if (r.exit_code != 0) {
    if (r.output.find("not a git repository") != std::string::npos || !fs::is_directory(path))
      throw usage_error("not a git repository: " + path.string());
    throw infra_error("git rev-parse failed in " + path.string() + ": " + trim(r.output));
  }
  return git(path, {"rev-parse", trim(r.output) == "true" ? "--absolute-git-dir" : "--show-toplevel"});
}

std::string commit_under_test(const fs::path& repo) {
  RunResult r = run_git(repo, {"rev-parse", "--verify", "--quiet", "BISECT_HEAD^{commit}"});
  return r.exit_code == 0 ? trim(r.output) : git(repo, {"rev-parse", "--verify", "HEAD^{commit}"});
}

fs::path Workspace::lock_path() const { return cache_ / "locks" / (id_ + ".lock"); }

Workspace::Workspace(const SourceSpec& spec, const fs::path& cache) : cache_(cache) {
  if (!fs::exists(spec.path)) throw usage_error("kernel source not found: " + spec.path.string());
  if (is_tarball(spec.path)) import_tarball(spec, cache);
  else attach_worktree(spec, cache);
}

// Import once: extract, `git add -f` everything (Debian's tarball ships a
// .gitignore ending in "/*" that would otherwise hide the whole tree).
// core.bigFileThreshold=1 streams every blob into one pack instead of ~80,000
// loose objects: 0.27 GB instead of 0.5 GB on disk for 6.1, for ~5 s more.
void Workspace::import_tarball(const SourceSpec& spec, const fs::path& cache) {
  const std::string sha = sha256_file(spec.path);
  identity_ = "tarball:" + sha;
  id_ = "tar-" + sha.substr(0, 16);
  const fs::path root = cache / "src" / id_;
  tree_ = root / "tree";
  FileLock lock(cache / "src" / (id_ + ".lock"), "importing " + spec.path.string(), kLockTimeout);
  if (!fs::exists(root / "imported")) {
    remove_stale_temp_dirs(cache / "src", ".import");  // a killed import's leftovers
    require_free_space(cache / "src", kImportPerTarballByte * fs::file_size(spec.path),
                       "importing " + spec.path.string());
    spdlog::info("importing {} into a git work tree (once per tarball)", spec.path.string());
    TempDir tmp(cache / "src", id_ + ".import");
    run_checked({"tar", "-xf", fs::absolute(spec.path).string(), "-C", tmp.path().string(), "--strip-components=1"},
                {.cwd = {}, .output = {}, .env = {}, .what = "unpacking " + spec.path.string()}, kTarTimeout);
    git(tmp.path(), {"init", "-q"});
    git(tmp.path(), {"config", "core.autocrlf", "false"});
    git(tmp.path(), {"config", "gc.auto", "0"});
    git(tmp.path(), {"-c", "core.bigFileThreshold=1", "add", "-f", "-A", "."});
    git(tmp.path(), {"commit", "-q", "--no-verify", "-m", "import " + spec.path.filename().string()});
    fs::create_directories(root);
    fs::remove_all(tree_);  // a tree without the "imported" marker is a killed import's
    fs::rename(tmp.path(), tree_);
    // TempDir would delete the now-missing path: harmless (remove_all ignores it).
    write_file_atomic(root / "imported", sha + "\n");
  }
  commit_ = git(tree_, {"rev-parse", "HEAD"});
}

// A git repository: verify the commit, then use a private worktree so the
// user's checkout (and an ongoing `git bisect`) is never disturbed.
void Workspace::attach_worktree(const SourceSpec& spec, const fs::path& cache) {
  const fs::path repo = git_toplevel(spec.path);
  const std::string want = spec.commit.empty() ? "HEAD" : spec.commit;
  RunResult r = run_git(repo, {"rev-parse", "--verify", "--quiet", want + "^{commit}"});
  // --quiet: an unknown name exits 1 and prints nothing; anything else is git
  // failing on a repository it cannot read.
  if (r.exit_code == 1 && trim(r.output).empty()) throw usage_error("unknown commit '" + want + "' in " + repo.string());
  if (r.exit_code != 0) throw infra_error("git rev-parse failed in " + repo.string() + ": " + trim(r.output));
  commit_ = trim(r.output);
  identity_ = "git:" + commit_;
  id_ = "git-" + sha256_hex(fs::canonical(repo).string()).substr(0, 16);
  tree_ = cache / "worktrees" / id_;
  FileLock lock(lock_path(), "setting up the work tree of " + repo.string(), kLockTimeout);
  // A worktree left from a repository that was since deleted and recreated
  // at the same path points at a .git that no longer knows it: start over.
  auto common_dir = [](const fs::path& dir) {
    RunResult r = run_git(dir, {"rev-parse", "--path-format=absolute", "--git-common-dir"});
    return r.exit_code == 0 ? trim(r.output) : std::string();
  };
  if (fs::exists(tree_) && common_dir(tree_) != common_dir(repo)) fs::remove_all(tree_);
  if (!fs::exists(tree_ / ".git")) {
    fs::create_directories(tree_.parent_path());
    require_free_space(tree_.parent_path(), kWorktreeBytes, "a work tree of " + repo.string());
    git(repo, {"worktree", "prune"});
    git(repo, {"worktree", "add", "--detach", "--force", tree_.string(), commit_});
  }
}

void Workspace::checkout(const std::vector<fs::path>& patches) const {
  // Only we write this tree, and only under lock_path(): an index.lock now
  // was left by a git we killed (or that died), and would fail every run.
  const fs::path index_lock = git(tree_, {"rev-parse", "--path-format=absolute", "--git-path", "index.lock"});
  if (std::error_code ec; fs::exists(index_lock, ec)) {
    spdlog::warn("removing {} left by an interrupted git", index_lock.string());
    fs::remove(index_lock);
  }
  git(tree_, {"checkout", "-q", "-f", "--detach", commit_});
  git(tree_, {"clean", "-q", "-f", "-d", "-e", std::string(kBuildDirPrefix) + "*"});
  for (const auto& p : patches) {
    if (!fs::exists(p)) throw usage_error("patch not found: " + p.string());
    RunResult r = run_git(tree_, {"apply", "--whitespace=nowarn", fs::absolute(p).string()});
    if (r.exit_code != 0)
      throw usage_error("patch does not apply: " + p.string() + " on " + identity_ + "\n" + trim(r.output));
  }
}

}  // namespace rb::kernel
