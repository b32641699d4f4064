// Rendering of `racebisect doctor`: a terminal listing (one line per check,
// its fix indented under it) and JSON, schema "racebisect-doctor/1" (fields
// documented in docs/ARCHITECTURE.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "doctor/doctor.h"

namespace rb::report {

std::string render_doctor(const doctor::Report& r, bool strict);
nlohmann::json doctor_json(const doctor::Report& r, bool strict);

}  // namespace rb::report
