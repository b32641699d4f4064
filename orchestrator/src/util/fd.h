// A file descriptor owned by one object: closed when it dies or is reset.
// Where close() can report a lost write, close release()'s result and
// check it (util/fs.cc).
#pragma once
#include <unistd.h>

#include <utility>

namespace rb {

struct UniqueFd {
  int fd = -1;
  UniqueFd() = default;
  explicit UniqueFd(int f) : fd(f) {}
  UniqueFd(UniqueFd&& o) noexcept : fd(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int release() { return std::exchange(fd, -1); }
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
};

}  // namespace rb
