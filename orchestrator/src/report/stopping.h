// Words for the sequential stopping rule of `reproduce`: the verdict line
// says what was shown, with the bounds that showed it, and a progress line
// says what is still needed (for the live/CI progress output).
#pragma once
#include <string>

#include "stats/sequential.h"

namespace rb::report {

// e.g. "unpatched: race present, rate >= 0.510/s (97.5% time-uniform bound),
// 21 failures in 24.0 racing-s; patched: fixed, rate <= 0.0490/s, at most 1/10
// of the unpatched lower bound, 0 failures in 81.0 racing-s"
std::string stopping_line(const stats::ReproduceStopping& s);

// e.g. "patched: 0 failures in 42.0 racing-s, ~39.0 more clean racing-s to show
// it 10x lower"; for a kernel still running.
std::string progress_line(const stats::ReproduceStopping& s, bool patched);

}  // namespace rb::report
