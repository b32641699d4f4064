#include "util/fs.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "util/error.h"
#include "util/fd.h"
#include "util/stop.h"

namespace rb {

namespace {

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw infra_error("cannot write " + path.string() + ": " + errno_text());
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The open descriptor a path names (/dev/stdout, /dev/fd/3, ...), or -1.
int named_descriptor(const fs::path& path) {
  const std::string s = path.lexically_normal().string();
  if (s == "/dev/stdout") return 1;
  if (s == "/dev/stderr") return 2;
  for (const std::string prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    if (s.rfind(prefix, 0) != 0 || s.size() == prefix.size() || s.size() > prefix.size() + 6) continue;
    const std::string n = s.substr(prefix.size());
    if (n.find_first_not_of("0123456789") == std::string::npos) return std::stoi(n);
  }
  return -1;
}

// A character device or FIFO: there is nothing to replace atomically.
void write_to_device(const fs::path& path, std::string_view data) {
  UniqueFd f{::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) throw infra_error("cannot open " + path.string() + ": " + errno_text());
  write_all(f.fd, data, path);
  const int rc = ::close(f.release());
  if (rc != 0) throw infra_error("cannot write " + path.string() + ": " + errno_text());
}

// Mode for a new or replaced file; nullopt when it must not be replaced.
mode_t target_mode(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return 0644;
    throw infra_error("cannot inspect " + path.string() + ": " + errno_text());
  }
  if (S_ISLNK(st.st_mode))
    throw usage_error("refusing to write through the symbolic link " + path.string() +
                      " (it is never followed or replaced): give the path of a file instead");
  if (!S_ISREG(st.st_mode)) throw usage_error("cannot write " + path.string() + ": not a regular file");
  return st.st_mode & 07777;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(rng() % 1000000000);
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_tail(const fs::path& path, size_t max) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max ? size - max : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string s(size - start, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  return s;
}

void fsync_path(const fs::path& path) {
  UniqueFd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0 || ::fsync(f.fd) != 0) throw infra_error("cannot sync " + path.string() + ": " + errno_text());
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  if (const int fd = named_descriptor(path); fd >= 0) {
    write_all(fd, data, path);
    return;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    write_to_device(path, data);
    return;
  }
  const mode_t mode = target_mode(path);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(dir);
  // Unique per call (mkstemp's O_EXCL), so threads and processes never share
  // a temp file; the pid makes a killed writer's leftovers recognisable.
  std::string tmp = (dir / ("." + path.filename().string().substr(0, 180) + ".tmp." + std::to_string(::getpid()) +
                            ".XXXXXX"))
                        .string();
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw infra_error("cannot create a temporary file next to " + path.string() + ": " + errno_text());
  try {
    write_all(fd, data, path);
    if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0)
      throw infra_error("cannot write " + path.string() + ": " + errno_text());
    // close() can report a deferred write error (NFS, quota): it is checked.
    if (::close(std::exchange(fd, -1)) != 0) throw infra_error("cannot write " + path.string() + ": " + errno_text());
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw infra_error("cannot replace " + path.string() + ": " + errno_text());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_path(dir);  // the rename itself must survive a crash
}

void require_free_space(const fs::path& dir, uintmax_t bytes, const std::string& what) {
  fs::path probe = dir;
  while (!probe.empty() && !fs::exists(probe) && probe != probe.parent_path()) probe = probe.parent_path();
  std::error_code ec;
  const fs::space_info si = fs::space(probe.empty() ? fs::path(".") : probe, ec);
  if (ec) throw infra_error("cannot read the free space of " + probe.string() + ": " + ec.message());
  if (si.available >= bytes) return;
  auto gib = [](uintmax_t b) { return fmt::format("{:.1f} GiB", double(b) / (1ull << 30)); };
  throw infra_error(fmt::format("not enough disk space for {}: about {} needed in {}, {} free "
                                "(free some, or point RACEBISECT_CACHE at a larger disk)",
                                what, gib(bytes), dir.string(), gib(si.available)));
}

fs::path stamped_dir(const fs::path& parent, const std::string& name) {
  const std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &utc);
  return fs::absolute(parent) / (std::string(buf) + "-" + name);
}

fs::path cache_root() {
  if (const char* c = std::getenv("RACEBISECT_CACHE"); c && *c) return fs::absolute(c);
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "racebisect";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "racebisect";
  // No HOME (cron, a stripped environment): the account's home, never a
  // guessable shared path another user could prepare.
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::string buf(16384, '\0');
  if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && pw.pw_dir && *pw.pw_dir)
    return fs::path(pw.pw_dir) / ".cache" / "racebisect";
  throw usage_error("no cache directory: set RACEBISECT_CACHE (or HOME)");
}

TempDir::TempDir(const fs::path& parent, const std::string& prefix) {
  fs::create_directories(parent);
  for (int i = 0; i < 100; ++i) {
    fs::path p = parent / (prefix + "." + std::to_string(::getpid()) + "." + random_suffix());
    if (fs::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw infra_error("cannot create a temporary directory in " + parent.string());
}

TempDir::~TempDir() {
  if (!owned_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool TempDir::commit_to(const fs::path& dest) {
  // Contents first: after a crash the entry must be whole, not just named.
  for (const auto& e : fs::recursive_directory_iterator(path_))
    if (e.is_regular_file() || e.is_directory()) fsync_path(e.path());
  fsync_path(path_);
  fs::create_directories(dest.parent_path());
  int rc = ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && errno == EINVAL) {
    // A filesystem without RENAME_NOREPLACE: a plain rename still refuses a
    // non-empty directory (ENOTEMPTY), which every committed entry is.
    rc = fs::exists(dest) ? -1 : ::rename(path_.c_str(), dest.c_str());
    if (rc != 0 && errno == 0) errno = EEXIST;
  }
  if (rc != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return false;
    throw infra_error("cannot move " + path_.string() + " to " + dest.string() + ": " + errno_text());
  }
  owned_ = false;
  fsync_path(dest.parent_path());
  return true;
}

int remove_stale_temp_dirs(const fs::path& parent, const std::string& marker) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    // <anything><marker>.<pid>.<random>
    const std::string name = e.path().filename().string();
    const size_t last = name.rfind('.');
    if (last == std::string::npos || last == 0) continue;
    const size_t mid = name.rfind('.', last - 1);
    if (mid == std::string::npos || mid < marker.size()) continue;
    if (name.compare(mid - marker.size(), marker.size(), marker) != 0) continue;
    const std::string pid = name.substr(mid + 1, last - mid - 1);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid_alive(static_cast<pid_t>(std::stol(pid)))) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (!rm) ++removed;
  }
  return removed;
}

fs::path quarantine(const fs::path& dir) {
  for (int i = 0; i < 100; ++i) {
    fs::path q = dir;
    q += ".corrupt." + std::to_string(::getpid()) + "." + random_suffix();
    if (::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, q.c_str(), RENAME_NOREPLACE) == 0) return q;
    if (errno != EEXIST) throw infra_error("cannot move " + dir.string() + " aside: " + errno_text());
  }
  throw infra_error("cannot move " + dir.string() + " aside");
}

FileLock::FileLock(const fs::path& path, const std::string& purpose, std::chrono::seconds timeout) {
  fs::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw infra_error("cannot open lock file " + path.string() + ": " + errno_text());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      ::close(fd_);
      throw infra_error("cannot lock " + path.string() + ": " + errno_text());
    }
    char buf[512] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string holder(buf, n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    if (holder.empty()) holder = "another process";
    spdlog::info("waiting for lock {} held by {} (for up to {} s; Ctrl-C stops the wait)", path.string(), holder,
                 timeout.count());
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto noted = start;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const auto now = Clock::now();
      std::string fail;
      if (errno != EWOULDBLOCK && errno != EINTR) fail = "cannot lock " + path.string() + ": " + errno_text();
      else if (stop_requested()) fail = "interrupted while waiting for lock " + path.string() + " held by " + holder;
      else if (now - start >= timeout)
        fail = "gave up after " + std::to_string(timeout.count()) + " s waiting for lock " + path.string() +
               " held by " + holder;
      if (!fail.empty()) {
        ::close(fd_);
        if (stop_requested()) throw interrupted_error(fail);
        throw infra_error(fail);
      }
      if (now - noted >= std::chrono::minutes(1)) {
        noted = now;
        spdlog::info("still waiting for lock {} held by {} ({} s)", path.string(), holder,
                     std::chrono::duration_cast<std::chrono::seconds>(now - start).count());
      }
      pollfd p{stop_fd(), POLLIN, 0};
      ::poll(&p, stop_fd() >= 0 ? 1 : 0, 100);  // wakes at once on a stop request
    }
  }
  // Say who we are, for the next waiter.
  const std::string me = "pid " + std::to_string(::getpid()) + (purpose.empty() ? "" : ": " + purpose) + "\n";
  if (::ftruncate(fd_, 0) == 0) [[maybe_unused]] auto n = ::pwrite(fd_, me.data(), me.size(), 0);
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  [[maybe_unused]] int rc = ::ftruncate(fd_, 0);
  ::close(fd_);  // closing drops the flock
}

}  // namespace rb
