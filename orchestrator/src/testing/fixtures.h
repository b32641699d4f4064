// Fixtures more than one unit test reads (header-only: RB_TESTDATA_DIR is
// defined for the unit test binary alone).
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "bisect/graph.h"

namespace rb::testing {

// The topology of issue 7: mainline 0-1-2, a short branch 3-4-5 (culprit 4)
// forked at 2, a long branch 6..11 forked at 2, merges 12 (short) and 13
// (long), more mainline 14, 15.
inline bisect::CommitGraph issue7_topology() {
  return bisect::CommitGraph({{}, {0}, {1}, {2}, {3}, {4}, {2}, {6}, {7}, {8}, {9}, {10}, {2, 5}, {12, 11}, {13}, {14}});
}

#ifdef RB_TESTDATA_DIR
inline std::string console_log_path(const std::string& name) {
  return std::string(RB_TESTDATA_DIR) + "/console/" + name;
}

// A console log of testdata/console/, whole; "" and a test failure when missing.
inline std::string console_log(const std::string& name) {
  std::ifstream in(console_log_path(name), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing test log " << name;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
#endif

}  // namespace rb::testing
