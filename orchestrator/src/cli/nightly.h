// `racebisect nightly`, `compare` and `history`: nightly CI across kernels.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace rb::cli {

// Registers the three subcommands; each returned function runs its command
// (after parsing) and returns the exit code, or -1 if it was not chosen.
std::vector<std::function<int()>> add_nightly(CLI::App& app);

}  // namespace rb::cli
