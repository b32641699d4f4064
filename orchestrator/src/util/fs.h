// Filesystem helpers: whole-file I/O, atomic writes, RAII temp dirs and locks.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace rb {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);            // throws rb::Error
// Reads at most `max` bytes from the end of the file (for log tails).
std::string read_tail(const fs::path& path, size_t max);
// Writes via a temp file + rename so readers never see half a file.
void write_file_atomic(const fs::path& path, std::string_view data);

// Where builds, images and run bundles live: $RACEBISECT_CACHE, else
// $XDG_CACHE_HOME/racebisect, else ~/.cache/racebisect.
fs::path cache_root();

class TempDir {
 public:
  explicit TempDir(const fs::path& parent, const std::string& prefix = "tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  // Moves the directory to `dest` (atomic rename) and stops owning it.
  void commit_to(const fs::path& dest);

 private:
  fs::path path_;
  bool owned_ = true;
};

// An exclusive flock() on a file, held for the object's lifetime: two
// racebisect processes never build in the same work tree at once.
class FileLock {
 public:
  explicit FileLock(const fs::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace rb
