// `racebisect doctor`: checks what a run needs on this machine and says how
// to fix each problem (see doctor/doctor.h). Exit 0: nothing failed (warnings
// are printed), 3: something failed (with --strict: or warned).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace rb::cli {

std::function<int()> add_doctor(CLI::App& app);

}  // namespace rb::cli
