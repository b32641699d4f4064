// `racebisect bisect-step`: the command for `git bisect run`. Builds the
// checked-out commit (incrementally), runs trials under a sequential test and
// exits 0 good / 1 bad / 125 skip -- or >= 128 to abort the bisection on
// bad input, since git treats every code in 1..127 but 125 as "bad".
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

std::function<int()> add_bisect_step(CLI::App& app);

}  // namespace rb::cli
