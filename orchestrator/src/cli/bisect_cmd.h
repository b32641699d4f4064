// `racebisect bisect --good A --bad B [--fix]`: self-driving probabilistic
// bisection. Keeps a posterior over the culprit, chooses the next commit and
// trial count by expected information per cost, stops at --confidence or when
// the budget runs out, confirms the culprit, and records everything so that
// the same command resumes after Ctrl-C or a crash.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

std::function<int()> add_bisect(CLI::App& app);

}  // namespace rb::cli
