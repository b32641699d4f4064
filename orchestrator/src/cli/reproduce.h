// `racebisect reproduce`: build the case's kernels, boot them, run the guest
// test, print rates with intervals and a verdict; exit code says which.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

// Registers the subcommand; the returned function runs it (after parsing)
// and returns the process exit code.
std::function<int()> add_reproduce(CLI::App& app);

}  // namespace rb::cli
