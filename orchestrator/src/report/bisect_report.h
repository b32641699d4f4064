// Renders a bisection's result (bisect::Result holds data only): the
// terminal report, a bisection log like syzbot's (one line per step:
// commit, kernel hash, trials, failures, posterior after it), and the JSON
// of `bisect --json FILE`, whose schema is documented in
// docs/ARCHITECTURE.md ("racebisect-bisect/1").
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bisect/driver.h"

namespace rb::report {

std::string bisect_text(const bisect::Result& r);
std::string bisect_log(const std::vector<bisect::StepRecord>& steps);
// `bisect --log`: recorded events (time, text); JSON steps and notes are
// rendered, older plain-text events shown as they are.
std::string bisect_events(const std::vector<std::pair<std::string, std::string>>& events);
nlohmann::json bisect_json(const bisect::Result& r, int exit_code);

}  // namespace rb::report
