// Filesystem helpers: whole-file I/O, crash-safe writes, RAII temp dirs and
// locks.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace rb {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);            // throws rb::Error naming the path
// Reads at most `max` bytes from the end of the file (for log tails).
std::string read_tail(const fs::path& path, size_t max);

// Writes `data` so that readers, and the file after a crash or power loss,
// show the old contents or the new, never a part: a temp file unique to this
// call (mkstemp, O_EXCL) in the same directory, every byte written, fsync'd,
// close() checked, renamed over the target, the directory fsync'd. On any
// error the temp file is removed and rb::Error (infra) names the path and
// the reason (e.g. ENOSPC, EFBIG). What is at the target decides how:
//  * nothing or a regular file: replaced atomically (an existing file's mode kept);
//  * a symlink: refused (rb::Error, Usage, naming the path) -- never followed
//    or replaced, so a planted link cannot redirect a write and, as root,
//    `--json /dev/stdout` cannot turn /dev/stdout into a regular file;
//  * /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: written to that
//    open descriptor at its current offset (a stream has no atomicity to keep);
//  * a character device or FIFO (/dev/null, a named pipe): written directly;
//  * anything else (a directory, a block device, a socket): refused (Usage).
void write_file_atomic(const fs::path& path, std::string_view data);

// fsync() of one file or directory (infra error naming it on failure).
void fsync_path(const fs::path& path);

// <absolute parent>/<UTC time as 20261127T101500Z>-<name>: a new run's
// output directory, sorting by start time.
fs::path stamped_dir(const fs::path& parent, const std::string& name);

// Where builds, images and run bundles live: $RACEBISECT_CACHE, else
// $XDG_CACHE_HOME/racebisect, else <home>/.cache/racebisect with the home
// from $HOME or the password database; never a guessable /tmp path.
fs::path cache_root();

// Refuses work that would fill the disk halfway (a tar or a build failing
// with thousands of ENOSPC lines): rb::Error (infra) naming `what`, `dir`,
// the space needed and the space free, unless the filesystem holding `dir`
// (or its nearest existing parent) has at least `bytes` available.
void require_free_space(const fs::path& dir, uintmax_t bytes, const std::string& what);

// A directory named <prefix>.<pid>.<random> under `parent`, removed with
// everything in it when the object dies, unless committed.
class TempDir {
 public:
  explicit TempDir(const fs::path& parent, const std::string& prefix = "tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  // fsyncs what is inside, then renames the directory to `dest` atomically
  // and only if `dest` does not exist yet (there is never a moment without
  // the old entry, and never a half-replaced one). Returns false -- keeping
  // the existing `dest`, discarding ours -- if `dest` exists. Other failures
  // are rb::Error (infra).
  bool commit_to(const fs::path& dest);

 private:
  fs::path path_;
  bool owned_ = true;
};

// Removes TempDirs `<prefix>.<pid>.*` in `parent` whose process is gone (a
// killed run's leftovers); a live owner's directory is left alone. Returns
// how many were removed.
int remove_stale_temp_dirs(const fs::path& parent, const std::string& prefix);

// Moves a broken cache entry aside to <dir>.corrupt.<pid>.<random> (kept for
// inspection) and returns the new path; the entry's name is then free.
fs::path quarantine(const fs::path& dir);

// An exclusive flock() on a file, held for the object's lifetime: two
// racebisect processes never build in the same work tree at once.
class FileLock {
 public:
  // Waits up to `timeout` for the lock. The holder writes "pid N: purpose"
  // into the file, so a waiter logs once what it waits for and who holds it.
  // A stop request (Ctrl-C, SIGTERM) ends the wait with rb::Interrupted;
  // the timeout with rb::Error (infra); both name the lock and the holder.
  explicit FileLock(const fs::path& path, const std::string& purpose = "",
                    std::chrono::seconds timeout = std::chrono::hours(3));
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace rb
