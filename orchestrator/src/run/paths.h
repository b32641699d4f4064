// Where racebisect finds its own binaries that go into the guest.
#pragma once
#include <filesystem>

namespace rb::run {

// Directory holding the static guest tests (uffd-race, ...).
std::filesystem::path guest_binary_dir();
// The static /init of the initramfs.
std::filesystem::path init_binary();

}  // namespace rb::run
