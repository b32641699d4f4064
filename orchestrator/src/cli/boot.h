// `racebisect boot`: one boot of a given kernel image with the guest test,
// classified. The building block for scripts and for checking odd kernels.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

std::function<int()> add_boot(CLI::App& app);

}  // namespace rb::cli
