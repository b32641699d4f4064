// QEMU run directly through Boost.Process (the default backend).
#pragma once
#include <string>
#include <vector>

#include "vm/backend.h"

namespace rb::vm {

// The exact argument vector for a boot (also written into bundles).
std::vector<std::string> qemu_command(const BootSpec& spec);

}  // namespace rb::vm
