// Reading /proc in the guest's static binaries (/init and the guest tests)
// with read(2), not iostreams: a static binary that uses them starts the C++
// locale machinery, which TCG translates afresh at every boot
// (docs/PERFORMANCE.md, "The initramfs's own start").
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

namespace rb_init {

// The whole file, or "" when it cannot be opened.
inline std::string read_text(const char* path) {
  std::string out;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR);)
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// The pieces of s between separators (any of seps), empty ones dropped.
inline std::vector<std::string> split(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t end = std::min(s.find_first_of(seps, i), s.size());
    if (end > i) out.emplace_back(s.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

}  // namespace rb_init
