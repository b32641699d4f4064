// QEMU run directly as a supervised child process (the default backend).
#pragma once
#include <string>
#include <vector>

#include "vm/backend.h"

namespace rb::vm {

// The exact argument vector for a boot (also written into bundles). It has
// `-sandbox on,...` (seccomp: no spawning, no privilege or affinity changes)
// when the QEMU on PATH supports it, probed once per process
// (RACEBISECT_QEMU_SANDBOX=off leaves it out, e.g. to compare race rates).
// Under TCG it boots qboot and presets the TSC rate (vm/tcg_boot.h); the
// first such call measures the host's TSC for 50 ms.
std::vector<std::string> qemu_command(const BootSpec& spec);

// Runs the -sandbox probe now (uncached): does QEMU start with the sandbox on?
bool probe_qemu_sandbox();

}  // namespace rb::vm
