#include "util/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"

namespace rb {

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

void write_file_atomic(const fs::path& path, std::string_view data) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw infra_error("cannot write " + tmp.string());
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw infra_error("write failed: " + tmp.string());
  }
  fs::rename(tmp, path);
}

fs::path cache_root() {
  if (const char* c = std::getenv("RACEBISECT_CACHE"); c && *c) return fs::absolute(c);
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "racebisect";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "racebisect";
  return fs::temp_directory_path() / "racebisect-cache";
}

TempDir::TempDir(const fs::path& parent, const std::string& prefix) {
  fs::create_directories(parent);
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    fs::path p = parent / (prefix + "." + std::to_string(getpid()) + "." + std::to_string(rd() % 1000000));
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

void TempDir::commit_to(const fs::path& dest) {
  fs::create_directories(dest.parent_path());
  std::error_code ec;
  fs::remove_all(dest, ec);
  fs::rename(path_, dest);
  owned_ = false;
}

FileLock::FileLock(const fs::path& path) {
  fs::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw infra_error("cannot open lock file " + path.string());
  if (::flock(fd_, LOCK_EX) != 0) {
    ::close(fd_);
    throw infra_error("cannot lock " + path.string());
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace rb
