// `racebisect build`: build (or find cached) the case's kernels and print
// where they are. Lets scripts and tests get a kernel without booting it.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

std::function<int()> add_build(CLI::App& app);

}  // namespace rb::cli
