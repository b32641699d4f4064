// The guest initramfs: a deterministic newc cpio holding /init (rb-init),
// the guest test binaries under /bin and a /dev/console node. Same inputs,
// same bytes (fixed mtimes, owners and inode numbers), so its sha256 in a
// reproduction bundle identifies exactly what ran in the guest.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace rb::image {

struct CpioEntry {
  std::string name;            // path inside the archive, without leading '/'
  unsigned mode = 0;           // full st_mode (type bits included)
  std::string data;            // file contents (regular files only)
  unsigned rdev_major = 0, rdev_minor = 0;
};

// Serialises entries in the given order (plus the TRAILER!!! record).
std::string write_cpio(const std::vector<CpioEntry>& entries);

struct InitramfsSpec {
  std::filesystem::path init;                        // becomes /init
  std::vector<std::filesystem::path> guest_tests;    // each becomes /bin/<filename>
};

struct Initramfs {
  std::filesystem::path path;
  std::string sha256;
};

// Builds (or finds, by content) the initramfs under cache/images/.
Initramfs build_initramfs(const InitramfsSpec& spec, const std::filesystem::path& cache);

}  // namespace rb::image
