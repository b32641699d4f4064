// The racebisect binary an e2e table runs: the one built beside the tests
// (RB_BINARY, defined for the e2e target only), or RB_E2E_BINARY to run the
// same table against another build (how each row was shown to fail on the
// binary from before a fix).
#pragma once
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "util/process.h"

namespace rb::testing {

inline std::string e2e_binary() {
  const char* other = std::getenv("RB_E2E_BINARY");
  return other && *other ? other : RB_BINARY;
}

// What one run of the racebisect binary returned: its exit code (-1 when
// it outran `timeout` and was killed; ctest's own limit is 3000 s) and its
// stdout and stderr together.
struct CliRun {
  int code;
  std::string out;
};

inline CliRun racebisect(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(3000)) {
  args.insert(args.begin(), e2e_binary());
  RunResult r = run_process(args, {}, timeout);
  return {r.timed_out ? -1 : r.exit_code, r.output};
}

}  // namespace rb::testing
