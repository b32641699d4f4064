// Argument checks and constants shared by the stats/*.cc implementations
// (not part of the module's interface).
#pragma once
#include <limits>
#include <stdexcept>
#include <string>

namespace rb::stats::detail {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline void check_confidence(double c, const char* what) {
  if (!(c > 0 && c < 1)) throw std::invalid_argument(std::string(what) + ": confidence must be in (0, 1)");
}

}  // namespace rb::stats::detail
